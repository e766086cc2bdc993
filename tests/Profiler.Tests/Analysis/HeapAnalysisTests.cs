using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Tests.Model;

namespace Profiler.Tests.Analysis;

public sealed class HeapAnalysisTests
{
    static ProfileModel Model(params (EventKind Kind, ulong Address, ulong Size)[] events)
    {
        var tables = new CallTreeTables();
        var leaf = tables.InternStack(StackId.None, tables.InternFrame(tables.InternFunction("app::leaf", null, null, null), null, 1, null, 0));
        int n = events.Length;
        return new ProfileModel
        {
            Info = new RecordingInfo(["app"], 1, DateTimeOffset.UnixEpoch, n, "test", "test", 1, true, 0, []),
            Tables = tables,
            Processes = [new ProcessInfo(1, "app", 0, null, null, [new ThreadInfo(1, "app")])],
            Events = TestTables.Of(events.Select((e, i) =>
                (new RawEvent(e.Kind, i, 1, 1, e.Address, e.Size, e.Size, 0, AllocFunction.Malloc), leaf))),
        };
    }

    [Fact]
    public void Frees_pair_with_the_live_allocation_at_their_address()
    {
        var heap = HeapAnalysis.Compute(Model(
            (EventKind.Alloc, 0x10, 100), (EventKind.Alloc, 0x20, 50), (EventKind.Free, 0x10, 0),
            (EventKind.Alloc, 0x10, 30), (EventKind.Free, 0x99, 0)));
        Assert.Equal(new HeapTotals(180, 3, 100, 1, 80, 2, 150, 1, 1), heap.Totals);
        Assert.Equal([2, -1, -1, -1, -1], heap.FreedBy);
        Assert.Equal(0, heap.Releases[2]);
        Assert.Equal(-1, heap.Releases[4]);
    }

    [Fact]
    public void Site_metrics_count_retained_and_peak_per_function()
    {
        var model = Model((EventKind.Alloc, 0x10, 100), (EventKind.Alloc, 0x20, 50), (EventKind.Free, 0x10, 0));
        var metrics = HeapMetrics.Compute(model, HeapAnalysis.Compute(model));
        var site = Assert.Single(metrics.Sites(model.Tables));
        Assert.Equal("app::leaf", site.Name);
        Assert.Equal((150L, 2.0, 100L, 50L, 1.0, 150L), (site.Metrics.AllocatedBytes, site.Metrics.AllocatedBlocks,
            site.Metrics.FreedBytes, site.Metrics.RetainedBytes, site.Metrics.RetainedBlocks, site.Metrics.PeakBytes));
    }
}
