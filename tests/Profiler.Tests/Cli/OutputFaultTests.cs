using Profiler.Core;
using Profiler.Core.Files;
using static Profiler.Tests.Cli.CliHarness;

namespace Profiler.Tests.Cli;

/// <summary>Outputs that cannot be written end with one line and their own exit code, never with a
/// half-written file under the output's name, and never by overwriting an input.</summary>
public sealed class OutputFaultTests : IDisposable
{
    static readonly string Fixture = Path.Combine(RepoRoot.Path, "tests", "Profiler.Viewer.Tests", "fixtures", "allocs-leak.memprof");
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-outputs");
    readonly string _recording;

    public OutputFaultTests()
    {
        _recording = Path.Combine(_dir.FullName, "r.memprof");
        File.Copy(Fixture, _recording);
    }

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>The last line of stderr (symbolizing the fixture warns first: its binaries are not here).</summary>
    static void AssertLastLineError(string stderr, string expected)
    {
        var last = stderr.Trim().Split('\n')[^1];
        Assert.StartsWith("memprof: ", last);
        Assert.Contains(expected, last);
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("Unhandled", stderr);
    }

    [Theory]
    [InlineData("firefox")]
    [InlineData("pprof")]
    public void Export_to_a_full_device_exits_74(string format)
    {
        var (code, _, err) = Run("export", _recording, "--format", format, "-o", "/dev/full");
        Assert.Equal((int)ExitCode.OutputFailed, code);
        AssertLastLineError(err, "cannot write /dev/full: No space left on device");
    }

    [Fact]
    public void Check_junit_to_a_full_device_exits_74()
    {
        var (code, _, err) = Run("check", _recording, "--max-allocs", "1000000000", "--junit", "/dev/full");
        Assert.Equal((int)ExitCode.OutputFailed, code);
        AssertLastLineError(err, "cannot write /dev/full");
    }

    [Fact]
    public void Export_onto_its_own_recording_is_refused_and_the_recording_kept()
    {
        var before = File.ReadAllBytes(_recording);
        string link = Path.Combine(_dir.FullName, "link.memprof");
        File.CreateSymbolicLink(link, _recording);
        foreach (var output in new[] { _recording, link, Path.Combine(_dir.FullName, ".", "r.memprof") })
        {
            var (code, _, err) = Run("export", _recording, "-o", output);
            Assert.Equal((int)ExitCode.UsageError, code);
            AssertOneLineError(err, "is also an input");
        }
        Assert.Equal(before, File.ReadAllBytes(_recording));
    }

    [Fact]
    public void An_output_naming_a_folder_says_so()
    {
        var (code, _, err) = Run("export", _recording, "-o", _dir.FullName);
        Assert.Equal((int)ExitCode.UsageError, code);
        AssertOneLineError(err, "is a directory");
    }

    [Fact]
    public async Task A_device_or_fifo_is_refused_as_a_recording_without_reading_it()
    {
        var (code, _, err) = Run("report", "/dev/zero");
        Assert.Equal((int)ExitCode.WrongFileType, code);
        AssertOneLineError(err, "not a regular file");

        string fifo = Path.Combine(_dir.FullName, "fifo");
        ProcessRunner.RunChecked("mkfifo", [fifo]);
        // A FIFO with no writer would block the open forever.
        var run = Task.Run(() => Run("report", fifo));
        var (fifoCode, _, fifoErr) = await run.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal((int)ExitCode.WrongFileType, fifoCode);
        AssertOneLineError(fifoErr, "not a regular file");
    }

    [Fact]
    public void A_failed_write_leaves_the_previous_file_and_no_temporary_file()
    {
        string output = Path.Combine(_dir.FullName, "out.json");
        File.WriteAllText(output, "previous");
        var e = Assert.Throws<ProfilerException>(() => OutputFile.Write(output, stream =>
        {
            stream.Write(new byte[10_000]);
            throw new IOException("No space left on device : '" + output + "'");
        }));
        Assert.Equal(ExitCode.OutputFailed, e.ExitCode);
        Assert.Equal($"cannot write {output}: No space left on device", e.Message);
        Assert.Equal("previous", File.ReadAllText(output));
        Assert.Equal(["out.json", "r.memprof"], _dir.GetFiles().Select(f => f.Name).Order());

        OutputFile.Write(output, stream => stream.Write("new"u8));
        Assert.Equal("new", File.ReadAllText(output));
        Assert.Equal(["out.json", "r.memprof"], _dir.GetFiles().Select(f => f.Name).Order());
    }
}
