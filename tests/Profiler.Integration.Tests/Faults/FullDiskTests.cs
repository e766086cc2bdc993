using Profiler.Core;

namespace Profiler.Integration.Tests.Faults;

/// <summary>`record` onto a 256 KiB tmpfs: the disk fills within the first second. memprof stops
/// recording, keeps what it wrote, lets the command run to its own end, and exits with one line
/// and the command's exit code (its own, 74, when the command succeeded). No orphan, no stack trace.</summary>
public sealed class FullDiskTests : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-fulldisk");
    readonly string _disk;
    readonly CompiledC _busy = new("busy", FaultPrograms.Busy);

    public FullDiskTests()
    {
        RootRequired.Check();
        _disk = Path.Combine(_dir.FullName, "disk");
        Directory.CreateDirectory(_disk);
        Run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", _disk);
    }

    public void Dispose()
    {
        Run("umount", _disk);
        _busy.Dispose();
        _dir.Delete(recursive: true);
    }

    static void Fill(string path)
    {
        using var fill = File.Create(path);
        var block = new byte[4096];
        while (true)
        {
            fill.Write(block);
            fill.Flush();
        }
    }

    static void Run(string program, params string[] args) => ProcessRunner.RunChecked(program, args);

    [Theory]
    [InlineData(3, 3)]
    [InlineData(0, (int)ExitCode.OutputFailed)]
    public void Recording_onto_a_full_disk_ends_with_one_line_and_the_commands_exit_code(int commandCode, int expected)
    {
        string done = Path.Combine(_dir.FullName, $"done-{commandCode}");
        string output = Path.Combine(_disk, "busy.memprof");
        var result = CliRunner.Run("record", "--rate", "1", "-o", output, "--", _busy.Path_, "2", commandCode.ToString(), done);

        Assert.True(result.ExitCode == expected, $"exit {result.ExitCode}: {result.Stderr}");
        var last = result.Stderr.Trim().Split('\n')[^1];
        Assert.StartsWith($"memprof: cannot write {output}: No space left on device", last);
        Assert.Contains($"kept in {output}.partial", last);
        Assert.DoesNotContain("Unhandled", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
        // The command ran to its own end, and nothing of it is left running.
        Assert.True(File.Exists(done), "the command did not run to its end");
        Assert.False(FaultPrograms.AnyProcessRuns(_busy.Path_), "the command was left running");
        // Nothing half-written under the output's name; what was recorded reads up to the cut.
        Assert.False(File.Exists(output));
        var partial = Core.Recording.RecordingReader.Read(output + ".partial");
        Assert.True(partial.Events.Count > 0);
        Assert.Null(partial.Footer);
    }

    [Fact]
    public void Export_onto_a_full_disk_leaves_no_file()
    {
        string recording = Path.Combine(_dir.FullName, "busy.memprof");
        var recorded = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", recording, "--", _busy.Path_, "1", "0", Path.Combine(_dir.FullName, "done"));
        Assert.True(recorded.ExitCode == 0, recorded.Stderr);
        // The disk is filled first: even pprof's few kilobytes find no room.
        string filler = Path.Combine(_disk, "filler");
        Assert.Throws<IOException>(() => Fill(filler));
        foreach (var format in new[] { "firefox", "pprof" })
        {
            var result = CliRunner.Run("export", recording, "--format", format, "-o", Path.Combine(_disk, "out.gz"));
            Assert.True(result.ExitCode == (int)ExitCode.OutputFailed, $"{format}: exit {result.ExitCode}: {result.Stderr}");
            Assert.Contains("No space left on device", result.Stderr.Trim().Split('\n')[^1]);
            Assert.Equal([filler], Directory.GetFileSystemEntries(_disk));
        }
    }
}
