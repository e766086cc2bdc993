using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Profiler.Integration.Tests.Faults;

/// <summary>Signals during `record -- CMD`, sent as a terminal or `timeout` sends them: to the whole
/// process group, so the command gets them too. However many come, memprof finishes the recording
/// and the Firefox profile and exits with the command's exit code. memprof runs as its own process
/// here (in its own session, so the group is just memprof and the command).</summary>
public sealed partial class SignalTests : IDisposable
{
    const int SIGINT = 2, SIGTERM = 15;
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-signals");
    readonly CompiledC _busy = new("busy", FaultPrograms.Busy);

    public void Dispose()
    {
        _busy.Dispose();
        _dir.Delete(recursive: true);
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    [Theory]
    [InlineData(SIGINT, 2)]
    [InlineData(SIGTERM, 2)]
    [InlineData(SIGINT, 5)]
    public void Repeated_signals_end_cleanly_with_the_profile_written(int signal, int count)
    {
        RootRequired.Check();
        string output = Path.Combine(_dir.FullName, "busy.memprof");
        string done = Path.Combine(_dir.FullName, "done");
        using var memprof = ProcessRunner.Start("setsid", CliRunner.OwnProcessWords("record", "-o", output, "--", _busy.Path_, "30", "7", done));
        // Recording has begun once the command runs (its allocations are being sampled).
        var started = Stopwatch.StartNew();
        while (!FaultPrograms.AnyProcessRuns(_busy.Path_) && started.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(50);
        Assert.True(FaultPrograms.AnyProcessRuns(_busy.Path_), "the command never started");
        Thread.Sleep(500);
        // The later ones arrive while memprof finishes (the command stops at the first); once
        // memprof and the command are gone, there is no group left to signal. memprof compiled to
        // native code finishes a recording this small within ~100 ms: the signals come closer.
        int delivered = 0;
        for (int i = 0; i < count && Kill(-memprof.Id, signal) == 0; i++)
        {
            delivered++;
            Thread.Sleep(25);
        }
        Assert.True(delivered >= 2, $"only {delivered} signal(s) reached memprof");
        var ended = memprof.WaitForExit(TimeSpan.FromSeconds(60)).EnsureExitCode(7);
        string err = ended.Stderr;
        Assert.DoesNotContain("Unhandled", err);
        Assert.DoesNotContain("   at ", err);
        Assert.True(File.Exists(done), "the command did not finish by itself");
        Assert.False(FaultPrograms.AnyProcessRuns(_busy.Path_));
        var recording = Core.Recording.RecordingReader.Read(output);
        Assert.NotNull(recording.Footer);
        Assert.Equal(7, recording.Exits.Single(e => e.Pid == recording.Header.TargetPid).ExitCode);
        string firefox = Path.Combine(_dir.FullName, "busy.json.gz");
        Assert.True(File.Exists(firefox), $"no Firefox profile: {err}");
        using var gz = new System.IO.Compression.GZipStream(File.OpenRead(firefox), System.IO.Compression.CompressionMode.Decompress);
        using var profile = System.Text.Json.JsonDocument.Parse(gz);
        Assert.Empty(Firefox.ProfileValidator.Validate(profile));
    }
}
