using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Tests.Analysis;

/// <summary>
/// The analyses pair frees through an open-addressing table, sum metrics in place per stack and
/// make timeline points lazily. Each is checked here against the plain algorithm written out
/// directly — a dictionary of live blocks, <see cref="AllocationMetrics"/> added per allocation,
/// the live bytes walked event by event — on a random sampled workload with several processes,
/// address reuse, lost and unmatched frees, reallocs and enough long-lived blocks to grow the table.
/// </summary>
public sealed class FastAnalysisOracleTests
{
    static readonly Lazy<ProfileModel> Workload = new(() => RandomWorkload(seed: 11, allocations: 240_000));

    [Fact]
    public void Pairing_matches_a_dictionary_of_live_blocks()
    {
        var model = Workload.Value;
        var ev = model.Events;
        var heap = HeapAnalysis.Compute(model);
        var live = new Dictionary<(uint, ulong), int>();
        var releases = Enumerable.Repeat(-1, ev.Count).ToArray();
        var freedBy = Enumerable.Repeat(-1, ev.Count).ToArray();
        long unmatched = 0;
        for (int i = 0; i < ev.Count; i++)
        {
            var key = (ev.Pid[i], ev.Address[i]);
            if (ev.Kind[i] == EventKind.Alloc) live[key] = i;
            else if (ev.Kind[i] == EventKind.Free)
            {
                if (live.Remove(key, out int a)) (releases[i], freedBy[a]) = (a, i);
                else unmatched++;
            }
        }
        Assert.True(live.Count > 65_536, $"only {live.Count} blocks stay live: the table never grows");
        Assert.True(unmatched > 100, $"only {unmatched} unmatched frees");
        Assert.Equal(releases, heap.Releases);
        Assert.Equal(freedBy, heap.FreedBy);
        Assert.Equal(live.Count, heap.Totals.LiveBlocks);
        Assert.Equal(unmatched, heap.Totals.UnmatchedFrees);
        Assert.Equal(LiveBytesWalk(ev, releases, pid: null), heap.Timeline.Select(p => (p.TimeNanos, p.LiveBytes)));
    }

    [Fact]
    public void Each_process_timeline_and_its_peak_match_a_walk_over_the_events()
    {
        var model = Workload.Value;
        var heap = HeapAnalysis.Compute(model);
        var timelines = HeapTimelines.Compute(model, heap);
        foreach (var pid in new uint[] { 1, 2, 3 })
        {
            var timeline = timelines.Of(pid)!;
            var walk = LiveBytesWalk(model.Events, heap.Releases, pid);
            // The last point and the count are answered before the points are made.
            Assert.Equal(walk.Count, timeline.Points.Count);
            Assert.Equal(walk[^1].LiveBytes, timeline.FinalLiveBytes);
            Assert.Equal(walk.Select((p, k) => new HeapPoint(p.TimeNanos, p.LiveBytes, k + 1)), timeline.Points);
            long peak = walk.Max(p => p.LiveBytes);
            Assert.Equal(peak, timeline.PeakBytes);
            Assert.Equal(walk.First(p => p.LiveBytes == peak).TimeNanos, timeline.PeakTimeNanos);
        }
    }

    /// <summary>Integer figures exactly; fractional ones (sampled blocks, lifetimes) to 1e-12: the
    /// analysis adds what became of an allocation when it is freed, so those sums run in the order
    /// of the frees, not of the allocations, and may differ in their last bits.</summary>
    [Fact]
    public void Metrics_are_those_of_adding_allocation_metrics_per_allocation()
    {
        var model = Workload.Value;
        var heap = HeapAnalysis.Compute(model);
        var options = new MetricsOptions(ShortLivedNanos: 50_000);
        var metrics = HeapMetrics.Compute(model, heap, options);
        var (byStack, total) = ReferenceMetrics(model, heap, metrics.Timelines, options);
        Assert.True(byStack.Count > 10);
        // Same stacks in the same order (sites and call trees are grouped in this order), same sums.
        Assert.Equal(byStack.Keys, metrics.ByStack.Keys);
        foreach (var (stack, expected) in byStack) AssertSame(expected, metrics.ByStack[stack]);
        AssertSame(total, metrics.Total);
        Assert.True(total.ReallocBlocks > 0 && total.LeakedBytes > 0 && total.ShortLivedBlocks > 0 && total.PeakBytes > 0);
        Assert.NotEqual(Math.Floor(total.AllocatedBlocks), total.AllocatedBlocks); // sampled: fractional blocks

        var onlyTwo = HeapMetrics.Compute(model, heap, options with { Pid = 2 });
        var (twoByStack, twoTotal) = ReferenceMetrics(model, heap, onlyTwo.Timelines, options with { Pid = 2 });
        Assert.Equal(twoByStack.Keys, onlyTwo.ByStack.Keys);
        foreach (var (stack, expected) in twoByStack) AssertSame(expected, onlyTwo.ByStack[stack]);
        AssertSame(twoTotal, onlyTwo.Total);
    }

    static void AssertSame(AllocationMetrics expected, AllocationMetrics actual)
    {
        static AllocationMetrics Integers(AllocationMetrics m) => m with
        {
            AllocatedBlocks = 0, FreedBlocks = 0, PeakBlocks = 0, RetainedBlocks = 0, LeakedBlocks = 0, ShortLivedBlocks = 0,
            LifetimeBlockNanos = 0, ReallocBlocks = 0,
        };
        Assert.Equal(Integers(expected), Integers(actual));
        double[] e = [expected.AllocatedBlocks, expected.FreedBlocks, expected.PeakBlocks, expected.RetainedBlocks, expected.LeakedBlocks,
            expected.ShortLivedBlocks, expected.LifetimeBlockNanos, expected.ReallocBlocks];
        double[] a = [actual.AllocatedBlocks, actual.FreedBlocks, actual.PeakBlocks, actual.RetainedBlocks, actual.LeakedBlocks,
            actual.ShortLivedBlocks, actual.LifetimeBlockNanos, actual.ReallocBlocks];
        for (int k = 0; k < e.Length; k++)
            Assert.True(Math.Abs(e[k] - a[k]) <= 1e-12 * Math.Max(1, Math.Abs(e[k])), $"figure {k}: {a[k]} for {e[k]}");
    }

    [Fact]
    public void An_analysis_started_early_is_the_one_computed_later()
    {
        var model = RandomWorkload(seed: 12, allocations: 20_000);
        HeapAnalysis.StartComputing(model.Events);
        var shared = HeapAnalysis.Compute(model);
        Assert.Same(shared, HeapAnalysis.Compute(model));
        var copy = new ProfileModel { Info = model.Info, Tables = model.Tables, Processes = model.Processes, Events = Copy(model.Events) };
        var fresh = HeapAnalysis.Compute(copy);
        Assert.NotSame(shared, fresh);
        Assert.Equal(fresh.Releases, shared.Releases);
        Assert.Equal(fresh.Totals, shared.Totals);
    }

    static List<(long TimeNanos, long LiveBytes)> LiveBytesWalk(AllocationTable ev, int[] releases, uint? pid)
    {
        var points = new List<(long, long)>();
        long live = 0;
        for (int i = 0; i < ev.Count; i++)
        {
            if (pid is { } p && ev.Pid[i] != p) continue;
            if (ev.Kind[i] == EventKind.Alloc) live += (long)ev.Weight[i];
            else if (ev.Kind[i] == EventKind.Free && releases[i] >= 0) live -= (long)ev.Weight[releases[i]];
            else continue;
            points.Add((ev.TimeNanos[i], live));
        }
        return points;
    }

    /// <summary>HeapMetrics as first written: a dictionary per stack, whole records added.</summary>
    static (Dictionary<StackId, AllocationMetrics>, AllocationMetrics) ReferenceMetrics(
        ProfileModel model, HeapAnalysis heap, HeapTimelines timelines, MetricsOptions options)
    {
        var ev = model.Events;
        var exited = model.Processes.Where(p => p.EndNanos is not null).Select(p => p.Pid).ToHashSet();
        var byStack = new Dictionary<StackId, AllocationMetrics>();
        var total = new AllocationMetrics();
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] != EventKind.Alloc || (options.Pid is { } only && ev.Pid[i] != only)) continue;
            int peakCut = timelines.Of(ev.Pid[i])?.PeakEventIndex ?? -1;
            long bytes = (long)ev.Weight[i];
            double blocks = HeapMetrics.BlocksOf(ev.Size[i], ev.Weight[i]);
            int freedBy = heap.FreedBy[i];
            bool freed = freedBy >= 0;
            bool atPeak = i <= peakCut && (!freed || freedBy > peakCut);
            long lifetime = freed ? ev.TimeNanos[freedBy] - ev.TimeNanos[i] : 0;
            bool shortLived = freed && lifetime < options.ShortLivedNanos;
            bool leaked = !freed && exited.Contains(ev.Pid[i]);
            var (growth, reallocs) = (0L, 0.0);
            for (int k = i - 1; ev.Function[i] == AllocFunction.Realloc && k >= 0 && ev.TimeNanos[k] == ev.TimeNanos[i]; k--)
            {
                if (ev.Pid[k] != ev.Pid[i] || ev.Tid[k] != ev.Tid[i]) continue;
                if (ev.Kind[k] != EventKind.Free || ev.Function[k] != AllocFunction.Realloc || heap.Releases[k] is not (int old and >= 0)) break;
                (growth, reallocs) = ((long)Math.Round(((double)ev.Size[i] - ev.Size[old]) * blocks), blocks);
                break;
            }
            var m = new AllocationMetrics(1, bytes, blocks, freed ? bytes : 0, freed ? blocks : 0, atPeak ? bytes : 0, atPeak ? blocks : 0,
                freed ? 0 : bytes, freed ? 0 : blocks, leaked ? bytes : 0, leaked ? blocks : 0, shortLived ? bytes : 0, shortLived ? blocks : 0,
                freed ? lifetime * blocks : 0, growth, reallocs);
            byStack[ev.Stack[i]] = byStack.GetValueOrDefault(ev.Stack[i]) + m;
            total += m;
        }
        return (byStack, total);
    }

    static AllocationTable Copy(AllocationTable e) => e.Select([.. Enumerable.Range(0, e.Count)]);

    /// <summary>Three processes (2 exits), sampled weights, addresses from small pools so blocks are
    /// reused and frees get lost, frees of blocks never recorded, reallocs, and a long-lived half.</summary>
    static ProfileModel RandomWorkload(int seed, int allocations)
    {
        var rng = new Random(seed);
        var model = new TestModel(samplingRate: 4096)
            .Process(1, "server").Process(2, "worker", endNanos: 9_000_000_000, exitCode: 0).Process(3, "helper");
        var stacks = Enumerable.Range(0, 40).Select(s => model.Stack("main", $"handler{s % 7}", $"alloc_site{s}")).ToArray();
        var pending = new List<(uint Pid, ulong Address)>();
        long time = 0;
        for (int n = 0; n < allocations; n++)
        {
            time += rng.Next(0, 3) * 1000;
            uint pid = (uint)rng.Next(1, 4);
            ulong address = pid == 3 ? 0x1000 + (ulong)rng.Next(64) * 16 : 0x100000 + (ulong)rng.Next(400_000) * 32;
            ulong size = (ulong)rng.Next(1, 5000);
            ulong weight = size + (ulong)rng.Next(0, 8000);
            var stack = rng.Next(50) == 0 ? StackId.None : stacks[rng.Next(stacks.Length)];
            if (rng.Next(12) == 0 && pending.Count > 0)
            {
                int k = rng.Next(pending.Count);
                var old = pending[k];
                pending.RemoveAt(k);
                model.Realloc(time, old.Address, address, size, stack, weight, old.Pid);
                pending.Add((old.Pid, address));
                continue;
            }
            model.Alloc(time, address, size, stack, weight, pid);
            if (rng.Next(2) == 0) pending.Add((pid, address));
            if (rng.Next(3) == 0 && pending.Count > 0)
            {
                int k = rng.Next(pending.Count);
                model.Free(time + rng.Next(0, 100_000), pending[k].Address, pending[k].Pid);
                pending.RemoveAt(k);
            }
            if (rng.Next(40) == 0) model.Free(time, 0xdead0000 + (ulong)rng.Next(1000) * 16, pid);
        }
        return model.Build();
    }
}
