namespace Profiler.Integration.Tests;

public sealed class LaunchTests
{
    [Fact]
    public void A_launched_commands_exit_code_passes_through()
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-launch");
        var result = CliRunner.Run("record", "--no-firefox", "-o", Path.Combine(dir.FullName, "sh.memprof"), "--", "/bin/sh", "-c", "exit 7");
        Assert.True(result.ExitCode == 7, $"exit {result.ExitCode}: {result.Stderr}");
        dir.Delete(recursive: true);
    }

    [Fact]
    public void A_program_that_exits_within_milliseconds_still_has_every_frame_in_a_module()
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-short");
        var output = Path.Combine(dir.FullName, "ls.memprof");
        var result = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", output, "--", "/bin/ls", "/");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var model = Profiler.Export.RecordingLoader.Load(output, TextWriter.Null);
        Assert.True(model.Events.Count > 20, $"{model.Events.Count} events");
        // The [truncated] root of a stack cut short is memprof's marker, not a frame of the program.
        var unmapped = model.Tables.Frames.Where(f => f.Module is null && model.Tables.Function(f.Function).Name != Core.Model.CallTreeTables.TruncatedFunction)
            .Select(f => $"0x{f.Address:x}").ToList();
        Assert.True(unmapped.Count == 0, $"frames outside any recorded module: {string.Join(", ", unmapped.Take(10))}");
        // What the launcher shell did before exec'ing the command is not part of the recording.
        Assert.DoesNotContain(model.Tables.Modules, m => m.Name is "dash" or "sh" or "bash");
        dir.Delete(recursive: true);
    }
}
