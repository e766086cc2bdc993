using Profiler.Core.Recording;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>At the default rate, estimates from samples of `allocs heavy` (~10 GiB in ~0.5 M calls)
/// agree with its exact manifest; the exact counters agree with it to the byte, up to what std's
/// own runtime allocates.</summary>
public sealed class SamplingAccuracyTests
{
    [Theory]
    [InlineData("allocs-fp", "preload")]
    [InlineData("allocs-nofp", "preload")]
    [InlineData("allocs-fp", "probe")]
    public void Default_rate_estimates_stay_within_bounds_on_repeated_runs(string variant, string mode)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(variant);
        var manifest = Manifest.Read(sample, "heavy");
        var truth = manifest.GroupBy(s => s.Function).ToDictionary(g => g.Key, g => (
            Allocated: g.Sum(s => s.AllocatedBytes), Leaked: g.Sum(s => s.LiveBytesAtExit), Peak: g.Max(s => s.PeakBytes)));
        long totalTruth = manifest.Sum(s => s.AllocatedBytes);
        long maxPeak = truth.Values.Max(t => t.Peak);
        long totalLeaked = truth.Values.Sum(t => t.Leaked);
        var dir = Directory.CreateTempSubdirectory("memprof-sampling");
        var problems = new List<string>();
        for (int run = 1; run <= 2; run++)
        {
            var output = Path.Combine(dir.FullName, $"heavy{run}.memprof");
            var result = CliRunner.Run("record", "--mode", mode, "--no-firefox", "-o", output, "--", sample, "heavy");
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("sampling every 512 KiB on average", result.Stderr);
            var model = RecordingLoader.Load(output, TextWriter.Null);
            Assert.Equal(512UL * 1024, model.Info.SamplingRateBytes);
            var sites = SiteTotals.Of(model);

            long estimated = sites.Values.Sum(s => s.AllocatedBytes);
            Check(problems, $"run {run}: total allocated", estimated, totalTruth, 0.03);
            foreach (var (function, t) in truth)
            {
                var s = sites.GetValueOrDefault(function);
                if (t.Allocated >= totalTruth / 20)
                    Check(problems, $"run {run}: {function} allocated", s?.AllocatedBytes ?? 0, t.Allocated, 0.10);
                if (t.Peak >= maxPeak / 20)
                    Check(problems, $"run {run}: {function} peak", s?.PeakBytes ?? 0, t.Peak, 0.10);
                if (t.Leaked >= totalLeaked / 20)
                    Check(problems, $"run {run}: {function} leaked", s?.RetainedBytes ?? 0, t.Leaked, 0.10);
                // Every sampled block of a site that frees everything was seen freed.
                if (t.Leaked == 0 && s is not null && s.RetainedBytes != 0)
                    problems.Add($"run {run}: {function} frees everything but shows {s.RetainedBytes:N0} B retained");
            }
            CheckExactCounters(problems, $"run {run}", RecordingReader.Read(output), manifest);
        }
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    static void Check(List<string> problems, string what, long estimate, long truth, double bound)
    {
        double error = (double)(estimate - truth) / truth;
        if (Math.Abs(error) > bound)
            problems.Add($"{what}: estimated {estimate:N0} B, true {truth:N0} B ({error:+0.0%;-0.0%}, bound ±{bound:0%})");
    }

    /// <summary>The counters see every call: exact up to std's few runtime allocations; live and
    /// peak bytes are glibc usable sizes (a 1 MiB block is a 1 MiB + 4 KiB mmapped chunk).</summary>
    static void CheckExactCounters(List<string> problems, string run, RawRecording recording, IReadOnlyList<ManifestSite> manifest)
    {
        var last = recording.Counters.Where(c => c.Pid == recording.Header.TargetPid).LastOrDefault();
        if (last is null) { problems.Add($"{run}: no heap counters recorded"); return; }
        long calls = manifest.Sum(s => s.Allocations), bytes = manifest.Sum(s => s.AllocatedBytes);
        long leaked = manifest.Sum(s => s.LiveBytesAtExit), leakedBlocks = manifest.Sum(s => s.LiveBlocksAtExit);
        long peak = manifest.Max(s => s.PeakBytes), peakBlocks = manifest.Max(s => s.PeakBytes / (1 << 20));
        void Within(string what, long value, long low, long high)
        {
            if (value < low || value > high) problems.Add($"{run}: counter {what} = {value:N0}, expected {low:N0}..{high:N0}");
        }
        Within("allocations", (long)last.Allocations, calls, calls + 200);
        Within("allocated bytes", (long)last.AllocatedBytes, bytes, bytes + 64 * 1024);
        Within("frees", (long)last.Frees, manifest.Sum(s => s.Frees), manifest.Sum(s => s.Frees) + 200);
        if (!last.LiveBytesKnown) problems.Add($"{run}: live bytes not known for a glibc target");
        Within("live bytes at the end", last.LiveBytes, leaked, leaked + leakedBlocks * 4096 + 64 * 1024);
        Within("peak live bytes", last.PeakLiveBytes, peak, peak + peakBlocks * 4096 + 1024 * 1024);
    }
}
