using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Tests.Analysis;

/// <summary>Several processes, with and without the collector's exact counters.</summary>
public sealed class ProcessHeapTests
{
    const long Ms = 1_000_000;
    const uint Parent = 1, Child = 2;

    /// <summary>
    /// The parent (pid 1) has counters: at 100 ms 1,000 B live (peak so far 1,500 B at 50 ms),
    /// at 200 ms 800 B live (peak 2,000 B at 150 ms). Its sampled events: X (100 B, 10–120 ms),
    /// Y (200 B, 140–160 ms), Z (50 B from 155 ms, never freed); at the exact peak (150 ms) only
    /// Y is live. The child (pid 2, no counters, exits at 50 ms with code 3): 70 B at 20 ms freed at
    /// 40 ms, 30 B at 30 ms never freed; its own events peak at 100 B at 30 ms.
    /// </summary>
    static ProfileModel TwoProcesses(bool parentCounters = true, bool liveKnown = true)
    {
        var m = new TestModel()
            .Process(Parent, "parent")
            .Process(Child, "child", endNanos: 50 * Ms, exitCode: 3, parent: Parent);
        var work = m.Stack("main", "app::work");
        var childWork = m.Stack("main", "child::work");
        m.Alloc(10 * Ms, 0x10, 100, work).Free(120 * Ms, 0x10)
            .Alloc(140 * Ms, 0x20, 200, work).Free(160 * Ms, 0x20)
            .Alloc(155 * Ms, 0x30, 50, work);
        m.Alloc(20 * Ms, 0x10, 70, childWork, pid: Child)
            .Alloc(30 * Ms, 0x20, 30, childWork, pid: Child)
            .Free(40 * Ms, 0x10, pid: Child);
        if (parentCounters)
        {
            m.Counter(100 * Ms, live: 1000, peak: 1500, peakTime: 50 * Ms, allocations: 10, allocatedBytes: 3000, frees: 5, freedBytes: 2000, liveKnown: liveKnown);
            m.Counter(200 * Ms, live: 800, peak: 2000, peakTime: 150 * Ms, allocations: 20, allocatedBytes: 5000, frees: 15, freedBytes: 4200, liveKnown: liveKnown);
        }
        return m.Build();
    }

    static HeapMetrics Compute(ProfileModel model, uint? pid = null) =>
        HeapMetrics.Compute(model, HeapAnalysis.Compute(model), new MetricsOptions(pid));

    static AllocationMetrics SiteOf(ProfileModel model, HeapMetrics metrics, string name) =>
        Assert.Single(metrics.Sites(model.Tables), s => s.Name == name).Metrics;

    [Fact]
    public void A_process_with_counters_takes_its_timeline_and_peak_from_them()
    {
        var model = TwoProcesses();
        var timeline = Compute(model).Timelines.Of(Parent)!;

        Assert.Equal(HeapSource.Counters, timeline.Source);
        // Each reported peak is a point of its own, placed before the sample that reported it.
        Assert.Equal([new HeapPoint(50 * Ms, 1500, 0), new HeapPoint(100 * Ms, 1000, 15), new HeapPoint(150 * Ms, 2000, 15), new HeapPoint(200 * Ms, 800, 35)],
            timeline.Points);
        Assert.Equal((2000L, 150 * Ms), (timeline.PeakBytes, timeline.PeakTimeNanos));
        Assert.Equal(new ExactHeapCounts(20, 5000, 15, 4200), timeline.Exact);
        // Events in time order: 10 (1), 20, 30, 40 (2), 120, 140 (1) | 155, 160 (1): six at or before 150 ms.
        Assert.Equal(5, timeline.PeakEventIndex);
    }

    [Fact]
    public void Sites_count_what_was_live_at_their_own_process_peak()
    {
        var model = TwoProcesses();
        var metrics = Compute(model);

        var parent = SiteOf(model, metrics, "app::work");
        Assert.Equal((200L, 1.0), (parent.PeakBytes, parent.PeakBlocks));
        Assert.Equal((50L, 0L), (parent.RetainedBytes, parent.LeakedBytes));

        var child = SiteOf(model, metrics, "child::work");
        Assert.Equal((100L, 2.0), (child.PeakBytes, child.PeakBlocks));
        Assert.Equal((30L, 1.0, 30L, 1.0), (child.RetainedBytes, child.RetainedBlocks, child.LeakedBytes, child.LeakedBlocks));
        Assert.Equal(20 * Ms, child.AverageLifetimeNanos);
    }

    /// <summary>
    /// The collector counts a call, and so stamps the peak, before it stamps the call's event: the
    /// 4,096 B block that made the peak at 1 ms is stamped 70 ns later, and counts as live at the
    /// peak; so does the realloc stamped 2 µs later, but not what follows the next free, nor an
    /// allocation stamped after the slack.
    /// </summary>
    [Theory]
    [InlineData(false, 4096 + 64 + 500 + 100)]
    [InlineData(true, 4096 + 64 + 500)]
    public void Allocations_stamped_just_after_the_counters_peak_belong_to_it(bool freeBetween, long expectedAtPeak)
    {
        var m = new TestModel();
        var s = m.Stack("main", "app::build");
        m.Alloc(10, 0x10, 64, s).Alloc(100, 0x20, 50, s)
            .Alloc(1 * Ms + 70, 0x30, 4096, s)
            .Realloc(1 * Ms + 2000, 0x20, 0x40, 500, s);
        if (freeBetween) m.Free(1 * Ms + 3000, 0x99);
        m.Alloc(1 * Ms + 5000, 0x50, 100, s)
            .Alloc(1 * Ms + HeapTimelines.PeakEventSlackNanos + 1, 0x60, 7, s)
            .Counter(2 * Ms, live: 5000, peak: 4800, peakTime: 1 * Ms);
        var model = m.Build();

        var site = SiteOf(model, Compute(model), "app::build");
        Assert.Equal(expectedAtPeak, site.PeakBytes);
    }

    [Fact]
    public void Without_counters_the_peak_is_the_events_own()
    {
        var model = TwoProcesses(parentCounters: false);
        var metrics = Compute(model);
        var timeline = metrics.Timelines.Of(Parent)!;

        Assert.Equal(HeapSource.Events, timeline.Source);
        Assert.Equal((250L, 155 * Ms), (timeline.PeakBytes, timeline.PeakTimeNanos));
        Assert.Null(timeline.Exact);
        Assert.Equal((250L, 2.0), (SiteOf(model, metrics, "app::work").PeakBytes, SiteOf(model, metrics, "app::work").PeakBlocks));
    }

    [Fact]
    public void Counters_without_live_bytes_give_exact_totals_but_the_events_timeline()
    {
        var model = TwoProcesses(liveKnown: false);
        var timeline = Compute(model).Timelines.Of(Parent)!;

        Assert.Equal(HeapSource.Events, timeline.Source);
        Assert.Equal(250, timeline.PeakBytes);
        Assert.Equal(new ExactHeapCounts(20, 5000, 15, 4200), timeline.Exact);
    }

    [Fact]
    public void The_overall_timeline_sums_the_processes()
    {
        var overall = Compute(TwoProcesses()).Timelines.Overall;

        Assert.Null(overall.Pid);
        Assert.Equal(HeapSource.Mixed, overall.Source);
        Assert.Null(overall.Exact); // the child has no counters
        Assert.Equal([(20 * Ms, 70L), (30 * Ms, 100L), (40 * Ms, 30L), (50 * Ms, 1530L), (100 * Ms, 1030L), (150 * Ms, 2030L), (200 * Ms, 830L)],
            overall.Points.Select(p => (p.TimeNanos, p.LiveBytes)));
        Assert.Equal((2030L, 150 * Ms), (overall.PeakBytes, overall.PeakTimeNanos));
    }

    [Fact]
    public void Exact_totals_add_up_over_processes_that_all_have_counters()
    {
        var m = new TestModel().Process(Parent, "parent").Process(Child, "child");
        m.Counter(10, live: 5, peak: 7, peakTime: 5, allocations: 3, allocatedBytes: 30, frees: 1, freedBytes: 8)
            .Counter(12, live: 9, peak: 9, peakTime: 12, allocations: 4, allocatedBytes: 40, frees: 2, freedBytes: 16, pid: Child);
        var timelines = Compute(m.Build()).Timelines;
        Assert.Equal(HeapSource.Counters, timelines.Overall.Source);
        Assert.Equal(new ExactHeapCounts(7, 70, 3, 24), timelines.Overall.Exact);
        Assert.Equal((14L, 12L), (timelines.Overall.PeakBytes, timelines.Overall.PeakTimeNanos));
    }

    [Fact]
    public void Selecting_a_process_leaves_the_others_out()
    {
        var model = TwoProcesses();
        var metrics = Compute(model, Child);

        var site = Assert.Single(metrics.Sites(model.Tables));
        Assert.Equal("child::work", site.Name);
        Assert.Equal(site.Metrics, metrics.Total);
        Assert.Equal([Child], metrics.Timelines.Processes.Select(p => p.Pid!.Value));
        Assert.Equal((100L, 30 * Ms, HeapSource.Events), (metrics.Timelines.Overall.PeakBytes, metrics.Timelines.Overall.PeakTimeNanos, metrics.Timelines.Overall.Source));
    }
}
