using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Sampling;

namespace Profiler.Tests.Analysis;

/// <summary>
/// Random recordings of two processes against a slow, literal reading of each metric's
/// definition: pair each allocation with the next free of its address, replay each process to
/// find its peak, then ask of every allocation whether it was live then, at the end, and so on.
/// </summary>
public sealed class MetricsOracleTests
{
    const long ShortLived = 1_000_000;
    const uint Exiting = 2;
    const int AddressPool = 60;

    static readonly (string[] Stack, string Site)[] Stacks =
    [
        (["main", "app::a", "malloc"], "app::a"),
        (["main", "app::b", "app::c", "malloc"], "app::c"),
        (["main", "app::b", "__GI___libc_malloc"], "app::b"),
        (["worker", "app::a", "calloc"], "app::a"),
    ];

    sealed record Event(bool IsAlloc, long Time, uint Pid, ulong Address, ulong Size, ulong Weight, int Stack);

    static List<Event> RandomEvents(int seed, bool sampled)
    {
        var random = new Random(seed);
        var events = new List<Event>();
        var live = new Dictionary<uint, List<ulong>> { [1] = [], [2] = [] };
        long time = 0;
        for (int step = 0; step < 600; step++)
        {
            time += random.Next(1, 700_000);
            uint pid = (uint)random.Next(1, 3);
            double roll = random.NextDouble();
            if (roll < 0.05) events.Add(new Event(false, time, pid, 0xdead_0000UL + (ulong)step, 0, 0, 0)); // allocated before recording
            else if ((roll < 0.55 && live[pid].Count < AddressPool / 2) || live[pid].Count == 0)
            {
                // Addresses come from a small pool, so they are reused once freed.
                ulong address;
                do address = 0x1000UL * (ulong)random.Next(1, AddressPool + 1); while (live[pid].Contains(address));
                ulong size = (ulong)random.Next(1, 5000);
                ulong weight = sampled ? PoissonSampling.Weight(size, 4096) : size;
                events.Add(new Event(true, time, pid, address, size, weight, random.Next(Stacks.Length)));
                live[pid].Add(address);
            }
            else
            {
                int victim = random.Next(live[pid].Count);
                events.Add(new Event(false, time, pid, live[pid][victim], 0, 0, 0));
                live[pid].RemoveAt(victim);
            }
        }
        return events;
    }

    static Dictionary<string, AllocationMetrics> Oracle(List<Event> events, out long overallPeak)
    {
        // An allocation's free is the next free of its address in its process.
        var freeOf = events.Select((e, i) => e.IsAlloc
            ? events.FindIndex(i + 1, x => !x.IsAlloc && x.Pid == e.Pid && x.Address == e.Address) : -1).ToArray();
        int FreeOf(int i) => freeOf[i];
        int AllocOf(int free) => Array.IndexOf(freeOf, free);

        var peakTime = new Dictionary<uint, long>();
        foreach (uint pid in new uint[] { 1, 2 })
        {
            long live = 0, peak = 0;
            for (int i = 0; i < events.Count; i++)
            {
                if (events[i].Pid != pid) continue;
                if (events[i].IsAlloc) live += (long)events[i].Weight;
                else if (AllocOf(i) is var a and >= 0) live -= (long)events[a].Weight;
                if (live > peak) (peak, peakTime[pid]) = (live, events[i].Time);
            }
        }
        long all = 0;
        overallPeak = 0;
        for (int i = 0; i < events.Count; i++)
        {
            if (events[i].IsAlloc) all += (long)events[i].Weight;
            else if (AllocOf(i) is var a and >= 0) all -= (long)events[a].Weight;
            overallPeak = Math.Max(overallPeak, all);
        }

        var sites = new Dictionary<string, AllocationMetrics>();
        for (int i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (!e.IsAlloc) continue;
            int f = FreeOf(i);
            long bytes = (long)e.Weight;
            double blocks = (double)e.Weight / e.Size;
            long lifetime = f >= 0 ? events[f].Time - e.Time : 0;
            long t = peakTime.GetValueOrDefault(e.Pid, -1);
            bool atPeak = e.Time <= t && (f < 0 || events[f].Time > t);
            bool shortLived = f >= 0 && lifetime < ShortLived;
            bool leaked = f < 0 && e.Pid == Exiting;
            var metrics = new AllocationMetrics(1, bytes, blocks, f >= 0 ? bytes : 0, f >= 0 ? blocks : 0,
                atPeak ? bytes : 0, atPeak ? blocks : 0, f < 0 ? bytes : 0, f < 0 ? blocks : 0,
                leaked ? bytes : 0, leaked ? blocks : 0, shortLived ? bytes : 0, shortLived ? blocks : 0,
                lifetime * blocks, 0, 0);
            var site = Stacks[e.Stack].Site;
            sites[site] = sites.GetValueOrDefault(site) + metrics;
        }
        return sites;
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    [InlineData(4, true)]
    [InlineData(5, true)]
    public void Random_recordings_match_a_literal_reading_of_the_definitions(int seed, bool sampled)
    {
        var events = RandomEvents(seed, sampled);
        var m = new TestModel(sampled ? 4096UL : 1).Process(1, "one").Process(Exiting, "two", endNanos: events[^1].Time + 1, exitCode: 0);
        var stacks = Stacks.Select(s => m.Stack(s.Stack)).ToArray();
        foreach (var e in events)
        {
            if (e.IsAlloc) m.Alloc(e.Time, e.Address, e.Size, stacks[e.Stack], e.Weight, e.Pid);
            else m.Free(e.Time, e.Address, e.Pid);
        }
        var model = m.Build();
        var heap = HeapAnalysis.Compute(model);
        var metrics = HeapMetrics.Compute(model, heap, new MetricsOptions(ShortLivedNanos: ShortLived));

        var expected = Oracle(events, out long overallPeak);
        var actual = metrics.Sites(model.Tables).ToDictionary(s => s.Name, s => s.Metrics);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (site, want) in expected)
        {
            var got = actual[site];
            Assert.Equal(Bytes(want), Bytes(got));
            Assert.Equal(Blocks(want), Blocks(got), BlockComparer);
            Assert.Equal(want.LifetimeBlockNanos, got.LifetimeBlockNanos, 1e-9 * Math.Max(1, want.LifetimeBlockNanos));
        }
        Assert.Equal(overallPeak, metrics.Timelines.Overall.PeakBytes);
        Assert.Equal(heap.Totals.PeakBytes, metrics.Timelines.Overall.PeakBytes);
        Assert.True(expected.Values.Sum(v => v.PeakBytes) > 0, "the recording should have something live at its peaks");
    }

    static (long, long, long, long, long, long, long) Bytes(AllocationMetrics m) =>
        (m.Samples, m.AllocatedBytes, m.FreedBytes, m.PeakBytes, m.RetainedBytes, m.LeakedBytes, m.ShortLivedBytes);

    static double[] Blocks(AllocationMetrics m) =>
        [m.AllocatedBlocks, m.FreedBlocks, m.PeakBlocks, m.RetainedBlocks, m.LeakedBlocks, m.ShortLivedBlocks];

    static readonly IEqualityComparer<double[]> BlockComparer = EqualityComparer<double[]>.Create(
        (a, b) => a!.Zip(b!).All(p => Math.Abs(p.First - p.Second) <= 1e-9 * Math.Max(1, Math.Abs(p.First))), _ => 0);
}
