using System.Diagnostics;
using Profiler.Collectors.Linux.Probes;
using Profiler.Core.Recording;

namespace Profiler.Integration.Tests;

public sealed class AttachTests
{
    [Fact]
    public void Attach_records_for_the_duration_and_leaves_the_target_running_without_probes()
    {
        RootRequired.Check();
        using var target = ServeTarget.Start("allocs-fp");
        var dir = Directory.CreateTempSubdirectory("memprof-attach");
        var output = Path.Combine(dir.FullName, "serve.memprof");
        int fdsBefore = BpfDescriptors();

        var sw = Stopwatch.StartNew();
        // Probes, in this process: the BPF descriptors checked are this process's (injection would
        // need memprof as a process of its own: .NET's reaping of this process's children, the
        // target among them, would swallow the ptrace stops of an in-process memprof).
        var result = CliRunner.Run("record", "--mode", "probe", "--rate", "1", "--pid", target.Id.ToString(), "--duration", "3s", "-o", output);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.InRange(sw.Elapsed.TotalSeconds, 2.9, 30);

        var recording = RecordingReader.Read(output);
        Assert.True(recording.Events.Count > 100, $"only {recording.Events.Count} events in 3 s");
        Assert.NotNull(recording.Footer);
        Assert.True(File.Exists(Path.Combine(dir.FullName, "serve.json.gz")));

        Thread.Sleep(200);
        Assert.False(target.HasExited, "the target died");
        Assert.Equal(fdsBefore, BpfDescriptors());
        ProbeChecks.AssertCodeUnpatched(target.Id);
        dir.Delete(recursive: true);
    }

    [Fact]
    public void Attaching_to_a_missing_pid_is_a_one_line_error()
    {
        var result = CliRunner.Run("record", "--pid", "2147480000", "--duration", "1s");
        Assert.Equal(68, result.ExitCode);
        Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.Contains("no process with pid", result.Stderr);
    }

    /// <summary>BPF links and perf events this process holds: all closed after a session.</summary>
    static int BpfDescriptors() =>
        Directory.GetFiles("/proc/self/fd").Count(fd =>
        {
            try { return File.ResolveLinkTarget(fd, false)?.ToString() is { } t && (t.Contains("bpf") || t.Contains("perf_event")); }
            catch (IOException) { return false; }
        });
}
