using Profiler.Collectors.Linux;
using Profiler.Collectors.Linux.Bpf;
using Profiler.Core.Analysis;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>Kernels before 6.6 have no uprobe_multi: the classic per-offset links must record the same.</summary>
public sealed class ClassicUprobeTests
{
    [Fact]
    public void Classic_links_record_the_manifests_leak_exactly()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-fp");
        var leak = Manifest.Read(sample).Single(s => s.Chain.Length == 3);
        var dir = Directory.CreateTempSubdirectory("memprof-classic");
        var output = Path.Combine(dir.FullName, "classic.memprof");
        var options = new RecordSessionOptions(output, [sample], null, null, "test") { SampleRateBytes = 1 };
        var result = LinuxRecordSession.Run(options,
            settings => new BpfTracer(settings, BpfTracer.ProbeKind.Classic), null, CancellationToken.None);
        Assert.Equal("uprobe+uretprobe", result.Mode);
        Assert.Equal(0, result.CommandExitCode);

        var model = RecordingLoader.Load(output, TextWriter.Null);
        var site = HeapMetrics.Compute(model, HeapAnalysis.Compute(model)).Sites(model.Tables).Single(s => s.Name == leak.Function).Metrics;
        Assert.Equal((leak.Allocations, leak.AllocatedBytes, leak.LiveBytesAtExit), (site.Samples, site.AllocatedBytes, site.RetainedBytes));
        dir.Delete(recursive: true);
    }
}
