using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Tests.Analysis;

/// <summary>Every metric of a site against figures worked out by hand from the events.</summary>
public sealed class HeapMetricsTests
{
    const long Ms = 1_000_000;

    /// <summary>
    /// Every allocation recorded (weight = size). app::a allocates A1 (100 B, never freed) and
    /// A2 (200 B, lives 3 ms); app::b allocates B1 (50 B, lives 0.4999 ms) and B2 (300 B, lives
    /// 3 ms). A free of a block from before the recording comes in between. The heap peaks at
    /// 600 B when B2 is allocated (A1 + A2 + B2). The process exits at 6 ms with A1 still live.
    /// </summary>
    static ProfileModel EveryAllocation(out StackId a, out StackId b)
    {
        var m = new TestModel().Process(TestModel.Pid, "app", endNanos: 6 * Ms, exitCode: 0);
        a = m.Stack("main", "app::a:10", "malloc");
        b = m.Stack("main", "app::b:20", "malloc");
        m.Alloc(0, 0x100, 100, a)
            .Alloc(100, 0x200, 50, b)
            .Free(500_000, 0x200)
            .Alloc(1 * Ms, 0x300, 200, a)
            .Free(1_200_000, 0x999)
            .Alloc(2 * Ms, 0x400, 300, b)
            .Free(4 * Ms, 0x300)
            .Free(5 * Ms, 0x400);
        return m.Build();
    }

    static FunctionMetrics Site(IReadOnlyList<FunctionMetrics> sites, string name) => Assert.Single(sites, s => s.Name == name);

    [Fact]
    public void Sites_have_every_metric_of_the_hand_worked_example()
    {
        var model = EveryAllocation(out _, out _);
        var metrics = HeapMetrics.Compute(model, HeapAnalysis.Compute(model));
        var sites = metrics.Sites(model.Tables);

        Assert.Equal(2, sites.Count);
        var a = Site(sites, "app::a");
        Assert.Equal(new AllocationMetrics(
            Samples: 2, AllocatedBytes: 300, AllocatedBlocks: 2, FreedBytes: 200, FreedBlocks: 1,
            PeakBytes: 300, PeakBlocks: 2, RetainedBytes: 100, RetainedBlocks: 1, LeakedBytes: 100, LeakedBlocks: 1,
            ShortLivedBytes: 0, ShortLivedBlocks: 0, LifetimeBlockNanos: 3 * Ms, ReallocGrowthBytes: 0, ReallocBlocks: 0), a.Metrics);
        Assert.Equal(3 * Ms, a.Metrics.AverageLifetimeNanos);
        Assert.Equal(0.0, a.Metrics.ShortLivedShare);
        Assert.Equal(("src/a.rs", "app"), (a.File, a.Module));
        Assert.Equal([10], a.Lines);

        var b = Site(sites, "app::b");
        Assert.Equal(new AllocationMetrics(
            Samples: 2, AllocatedBytes: 350, AllocatedBlocks: 2, FreedBytes: 350, FreedBlocks: 2,
            PeakBytes: 300, PeakBlocks: 1, RetainedBytes: 0, RetainedBlocks: 0, LeakedBytes: 0, LeakedBlocks: 0,
            ShortLivedBytes: 50, ShortLivedBlocks: 1, LifetimeBlockNanos: 499_900 + 3 * Ms, ReallocGrowthBytes: 0, ReallocBlocks: 0), b.Metrics);
        Assert.Equal(1_749_950, b.Metrics.AverageLifetimeNanos);
        Assert.Equal(0.5, b.Metrics.ShortLivedShare);

        Assert.Equal(a.Metrics + b.Metrics, metrics.Total);
    }

    [Fact]
    public void The_peak_comes_from_the_events_when_there_are_no_counters()
    {
        var model = EveryAllocation(out _, out _);
        var heap = HeapAnalysis.Compute(model);
        var timeline = HeapMetrics.Compute(model, heap).Timelines.Overall;

        Assert.Equal(HeapSource.Events, timeline.Source);
        Assert.Equal((600L, 2 * Ms, 5), (timeline.PeakBytes, timeline.PeakTimeNanos, timeline.PeakEventIndex));
        Assert.Equal([100L, 150, 100, 300, 600, 400, 100], timeline.Points.Select(p => p.LiveBytes));
        Assert.Null(timeline.Exact);
        Assert.Equal(heap.Totals.PeakBytes, timeline.PeakBytes);
    }

    [Fact]
    public void Functions_count_inclusively_and_call_tree_nodes_sum_their_subtrees()
    {
        var model = EveryAllocation(out var a, out var b);
        var metrics = HeapMetrics.Compute(model, HeapAnalysis.Compute(model));

        var functions = metrics.Functions(model.Tables);
        Assert.Equal(650, Site(functions, "main").Metrics.AllocatedBytes);
        Assert.Equal(650, Site(functions, "malloc").Metrics.AllocatedBytes);
        Assert.Equal(300, Site(functions, "app::a").Metrics.AllocatedBytes);

        var tree = metrics.CallTree(model.Tables);
        var root = model.Tables.Stack(model.Tables.Stack(a).Parent).Parent;
        Assert.Equal(metrics.Total, tree[root]);
        Assert.Equal(Site(metrics.Sites(model.Tables), "app::a").Metrics, tree[a]);
        Assert.Equal(Site(metrics.Sites(model.Tables), "app::b").Metrics, tree[model.Tables.Stack(b).Parent]);
        Assert.Equal(5, tree.Count);
    }

    /// <summary>
    /// Sampled: each event stands for weight / size objects. 100 B sampled as 300 B is 3 objects
    /// (freed after 1 µs), 10 B as 100 B is 10 objects (freed after 5 µs), 1000 B as 4000 B is 4
    /// objects, never freed. Lifetimes average over objects: (3 × 1000 + 10 × 5000) / 13 ns.
    /// </summary>
    [Fact]
    public void Sampled_events_count_the_objects_they_stand_for()
    {
        var m = new TestModel(samplingRate: 512 * 1024);
        var s = m.Stack("main", "app::parse:5", "malloc");
        m.Alloc(0, 0x10, 100, s, weight: 300)
            .Alloc(10, 0x20, 10, s, weight: 100)
            .Alloc(20, 0x30, 1000, s, weight: 4000)
            .Free(1000, 0x10)
            .Free(5010, 0x20);
        var model = m.Build();
        var heap = HeapAnalysis.Compute(model);

        var site = Assert.Single(HeapMetrics.Compute(model, heap).Sites(model.Tables)).Metrics;
        Assert.Equal(new AllocationMetrics(
            Samples: 3, AllocatedBytes: 4400, AllocatedBlocks: 17, FreedBytes: 400, FreedBlocks: 13,
            PeakBytes: 4400, PeakBlocks: 17, RetainedBytes: 4000, RetainedBlocks: 4, LeakedBytes: 0, LeakedBlocks: 0,
            ShortLivedBytes: 400, ShortLivedBlocks: 13, LifetimeBlockNanos: 53_000, ReallocGrowthBytes: 0, ReallocBlocks: 0), site);
        Assert.Equal(53_000 / 13.0, site.AverageLifetimeNanos);
        Assert.Equal(13 / 17.0, site.ShortLivedShare);

        // The short-lived threshold is a parameter: at 2 µs only the first event qualifies.
        var strict = Assert.Single(HeapMetrics.Compute(model, heap, new MetricsOptions(ShortLivedNanos: 2000)).Sites(model.Tables)).Metrics;
        Assert.Equal((300L, 3.0, 3 / 17.0), (strict.ShortLivedBytes, strict.ShortLivedBlocks, strict.ShortLivedShare));
    }

    [Fact]
    public void A_zero_byte_allocation_is_one_block_of_no_bytes()
    {
        var m = new TestModel();
        var s = m.Stack("main", "app::empty");
        var model = m.Alloc(0, 0x10, 0, s).Build();
        var site = Assert.Single(HeapMetrics.Compute(model, HeapAnalysis.Compute(model)).Sites(model.Tables)).Metrics;
        Assert.Equal((0L, 1.0, 1.0), (site.AllocatedBytes, site.AllocatedBlocks, site.RetainedBlocks));
    }

    [Fact]
    public void Frees_of_blocks_allocated_before_recording_are_not_attributed()
    {
        var m = new TestModel();
        var s = m.Stack("main", "app::keep");
        var free = m.Stack("main", "app::drop_old");
        var model = m.Free(0, 0x500, stack: free).Alloc(10, 0x10, 64, s).Free(20, 0x600, stack: free).Build();
        var metrics = HeapMetrics.Compute(model, HeapAnalysis.Compute(model));

        var site = Assert.Single(metrics.Sites(model.Tables));
        Assert.Equal("app::keep", site.Name);
        Assert.Equal((64L, 0L, 64L), (site.Metrics.AllocatedBytes, site.Metrics.FreedBytes, site.Metrics.RetainedBytes));
        Assert.Equal([64L], metrics.Timelines.Overall.Points.Select(p => p.LiveBytes));
    }
}
