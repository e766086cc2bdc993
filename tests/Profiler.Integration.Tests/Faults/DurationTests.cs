namespace Profiler.Integration.Tests.Faults;

/// <summary>`record --duration` with a launched command ends the recording, not the command: it
/// runs on to its own end, and its exit code is memprof's.</summary>
public sealed class DurationTests
{
    [Fact]
    public void The_command_outlives_the_duration_and_its_exit_code_passes_through()
    {
        RootRequired.Check();
        using var busy = new CompiledC("busy", FaultPrograms.Busy);
        string done = Path.Combine(busy.Folder, "done");
        string output = Path.Combine(busy.Folder, "busy.memprof");
        var result = CliRunner.Run("record", "--duration", "500ms", "--no-firefox", "-o", output, "--", busy.Path_, "2", "5", done);
        Assert.True(result.ExitCode == 5, $"exit {result.ExitCode}: {result.Stderr}");
        Assert.True(File.Exists(done), "the command was cut short");
        var recording = Core.Recording.RecordingReader.Read(output);
        Assert.NotNull(recording.Footer);
        Assert.True(recording.Events.Count > 0);
    }
}
