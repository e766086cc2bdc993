using Profiler.Core.Analysis;
using Profiler.Core.Recording;

namespace Profiler.Integration.Tests.Faults;

/// <summary>Attaching to a process that already carries the preload library (a launch recording
/// killed or still running, an LD_PRELOAD kept): it samples at its own rate whatever --rate
/// says, so that rate is the recording's, and the report says its counters run from the
/// process's start rather than calling them exact.</summary>
public sealed class ResidentPreloadTests
{
    [Fact]
    public void The_resident_librarys_rate_is_the_recordings_and_its_counters_are_not_called_exact()
    {
        RootRequired.Check();
        using var busy = new CompiledC("busy", FaultPrograms.Busy);
        using var target = ProcessRunner.Start(busy.Path_, ["8", "0", Path.Combine(busy.Folder, "done")], new ProcessOptions()
            .WithEnvironment("LD_PRELOAD", Path.Combine(AppContext.BaseDirectory, "libmemprof_preload.so"))
            .WithEnvironment("MEMPROF_PRELOAD_RATE", "65536"));
        Thread.Sleep(500);
        string output = Path.Combine(busy.Folder, "attached.memprof");
        var result = CliRunner.Run("record", "--pid", target.Id.ToString(), "--rate", "1", "--duration", "1500ms", "--no-firefox", "-o", output);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("samples every 65,536 B whatever --rate says", result.Stderr);
        var recording = RecordingReader.Read(output);
        Assert.Equal(65536UL, recording.Header.SamplingRateBytes);
        Assert.True(recording.Events.Count > 0);

        var report = CliRunner.Run("report", output);
        Assert.True(report.ExitCode == 0, report.Stderr);
        var counters = report.Stdout.Split('\n').Single(l => l.StartsWith("Counters:"));
        Assert.Contains("counted, not exact: they run from the process's start", counters);
        Assert.DoesNotContain("(exact", report.Stdout);
    }
}
