using Profiler.Core.Recording;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>allocs over jemalloc 5.3.0 linked statically with the `_rjem_` prefix, as
/// tikv-jemallocator links it: libc probes cannot see these calls, memprof's probes on the
/// executable's own allocator do.</summary>
public sealed class JemallocTests
{
    [Theory]
    [InlineData("allocs-jemalloc")]
    [InlineData("allocs-jemalloc-prof")]
    public void Every_call_is_recorded_exactly_on_the_probe_path(string variant)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(variant);
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-jemalloc");
        var output = Path.Combine(dir.FullName, "je.memprof");
        // At --rate 1 jemalloc's own sampling is not turned on: every call is probed.
        var result = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", output, "--", sample);
        Assert.True(result.ExitCode == 0, result.Stderr);

        var recording = RecordingReader.Read(output);
        Assert.Contains(recording.Events.Function.Take(recording.Events.Count),
            f => f is AllocFunction.Sdallocx or AllocFunction.Mallocx);
        var model = RecordingLoader.Load(output, TextWriter.Null);
        var sites = SiteTotals.Of(model);
        var problems = SiteTotals.Explained(manifest, sites);
        // The exact counters saw each call once (a file reached by two paths is probed once).
        var counters = recording.Counters.Last(c => c.Pid == recording.Header.TargetPid);
        long calls = manifest.Sum(s => s.Allocations);
        if ((long)counters.Allocations < calls || (long)counters.Allocations > calls + 200)
            problems.Add($"counted {counters.Allocations:N0} allocation calls, the manifest makes {calls:N0}");
        if (problems.Count > 0)
            problems.Add($"raw events {recording.Events.Count:N0} (pids {string.Join(",", recording.Events.Pid.Take(recording.Events.Count).Distinct())}), " +
                         $"model events {model.Events.Count:N0}; recording kept at {output}; memprof said: {result.Stderr}");
        else dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}

/// <summary>Debian's libjemalloc.so.2 is mapped by the dynamic linker after exec: its hook stops
/// the program until the library's allocator is probed, so no call is missed (with probes asked
/// for: launched, such a program is sampled in process, <see cref="DebianJemallocTests"/>).</summary>
public sealed class DynamicJemallocTests
{
    [Fact]
    public void An_allocator_in_a_library_loaded_after_exec_is_probed_before_it_runs()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-jemalloc-dyn");
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-jemalloc-dyn");
        var output = Path.Combine(dir.FullName, "dyn.memprof");
        var result = CliRunner.Run("record", "--mode", "probe", "--rate", "1", "--no-firefox", "-o", output, "--", sample);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var model = RecordingLoader.Load(output, TextWriter.Null);
        Assert.Contains(model.Tables.Modules, m => m.Name.StartsWith("libjemalloc.so", StringComparison.Ordinal));
        Assert.Empty(SiteTotals.Mismatches(manifest, SiteTotals.Of(model)));
        // jemalloc's blocks have no glibc chunk header: the heap total comes from the events.
        Assert.False(RecordingReader.Read(output).Counters.Last(c => c.Pid == model.Info.TargetPid).LiveBytesKnown);
        dir.Delete(recursive: true);
    }
}

/// <summary>jemalloc's own sampling (profiling compiled in, turned on at launch): only its sampled
/// path is probed and its backtraces are the stacks; estimates stay within the sampling bounds.</summary>
public sealed class JemallocProfilingTests
{
    [Fact]
    public void Jemalloc_sampling_estimates_the_heavy_workload_within_bounds()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-jemalloc-prof");
        var manifest = Manifest.Read(sample, "heavy");
        var dir = Directory.CreateTempSubdirectory("memprof-jeprof");
        var output = Path.Combine(dir.FullName, "jeprof.memprof");
        var result = CliRunner.Run("record", "--no-firefox", "-o", output, "--", sample, "heavy");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("jemalloc profiling", RecordingReader.Read(output).Header.Mode);

        var sites = SiteTotals.Of(RecordingLoader.Load(output, TextWriter.Null));
        var truth = manifest.GroupBy(s => s.Function).ToDictionary(g => g.Key, g => (Allocated: g.Sum(s => s.AllocatedBytes), Leaked: g.Sum(s => s.LiveBytesAtExit)));
        long total = truth.Values.Sum(t => t.Allocated);
        var problems = new List<string>();
        void Check(string what, long estimate, long expected, double bound)
        {
            double error = (double)(estimate - expected) / expected;
            if (Math.Abs(error) > bound) problems.Add($"{what}: estimated {estimate:N0}, true {expected:N0} ({error:+0.0%;-0.0%})");
        }
        Check("total allocated", sites.Where(s => truth.ContainsKey(s.Key)).Sum(s => s.Value.AllocatedBytes), total, 0.03);
        foreach (var (function, t) in truth)
        {
            var site = sites.GetValueOrDefault(function);
            if (t.Allocated >= total / 20) Check($"{function} allocated", site?.AllocatedBytes ?? 0, t.Allocated, 0.10);
            if (t.Leaked > 0) Check($"{function} leaked", site?.RetainedBytes ?? 0, t.Leaked, 0.10);
        }
        // Sites that free everything show nothing retained, heavy_realloc included: its chains grow
        // sampled blocks in place, which jemalloc reports as the new sample before the old one's free.
        foreach (var function in new[] { "allocs::heavy::heavy_churn", "allocs::heavy::heavy_batch", "allocs::heavy::heavy_peak", "allocs::heavy::heavy_realloc" })
            if (sites.GetValueOrDefault(function)?.RetainedBytes is > 0 and var retained)
                problems.Add($"{function} frees everything but shows {retained:N0} B retained");
        // Every recorded free meets a live sample: none is taken for a block allocated before recording.
        if (UnpairedFrees(RecordingReader.Read(output)) is > 0 and var unpaired)
            problems.Add($"{unpaired} recorded frees of addresses not live in the recording");
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>Frees, in recording order, of an address that no earlier allocation left live.</summary>
    static int UnpairedFrees(RawRecording recording)
    {
        var ev = recording.Events;
        var live = new HashSet<(uint, ulong)>();
        int unpaired = 0;
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] == EventKind.Alloc) live.Add((ev.Pid[i], ev.Address[i]));
            else if (ev.Kind[i] == EventKind.Free && !live.Remove((ev.Pid[i], ev.Address[i]))) unpaired++;
        }
        return unpaired;
    }
}
