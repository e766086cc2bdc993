using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Tests.Analysis;

/// <summary>Realloc growth: new size − replaced block's size, for the objects a realloc event stands for.</summary>
public sealed class ReallocGrowthTests
{
    static FunctionMetrics OnlySite(ProfileModel model) =>
        Assert.Single(HeapMetrics.Compute(model, HeapAnalysis.Compute(model)).Sites(model.Tables));

    /// <summary>malloc 16, realloc to 32, to 64, shrink in place to 48, free; then a realloc of a
    /// block allocated before recording began, whose old size is unknown.</summary>
    [Fact]
    public void A_chain_adds_the_net_growth_of_the_calls_whose_old_block_is_known()
    {
        var m = new TestModel();
        var first = m.Stack("main", "app::grow:7", "malloc");
        var again = m.Stack("main", "app::grow:9", "realloc");
        var model = m.Alloc(1, 0x10, 16, first)
            .Realloc(2, 0x10, 0x20, 32, again)
            .Realloc(3, 0x20, 0x30, 64, again)
            .Realloc(4, 0x30, 0x30, 48, again)
            .Free(5, 0x30)
            .Realloc(6, 0x99, 0x40, 100, again)
            .Build();

        var site = OnlySite(model);
        Assert.Equal((16 + 32 - 16L, 3.0), (site.Metrics.ReallocGrowthBytes, site.Metrics.ReallocBlocks));
        Assert.Equal((16 + 32 + 64 + 48 + 100L, 5.0), (site.Metrics.AllocatedBytes, site.Metrics.AllocatedBlocks));
        // Each realloc ends its old block's life: 16, 32 and 64 B were freed by reallocs, 48 B by free.
        Assert.Equal((16 + 32 + 64 + 48L, 4.0), (site.Metrics.FreedBytes, site.Metrics.FreedBlocks));
        Assert.Equal([9, 7], site.Lines);
    }

    [Fact]
    public void A_sampled_realloc_grows_each_object_it_stands_for()
    {
        var m = new TestModel(samplingRate: 512 * 1024);
        var s = m.Stack("main", "app::grow");
        // 100 B standing for 4 objects grown to 300 B standing for 2 objects: 2 × 200 B.
        var model = m.Alloc(1, 0x10, 100, s, weight: 400).Realloc(2, 0x10, 0x20, 300, s, weight: 600).Build();
        Assert.Equal((400L, 2.0), (OnlySite(model).Metrics.ReallocGrowthBytes, OnlySite(model).Metrics.ReallocBlocks));
    }

    [Fact]
    public void Another_threads_event_at_the_same_time_does_not_hide_the_replaced_block()
    {
        var m = new TestModel();
        var s = m.Stack("main", "app::grow");
        var model = m.Alloc(1, 0x10, 16, s, tid: 10)
            .Free(2, 0x10, tid: 10, function: AllocFunction.Realloc)
            .Alloc(2, 0x50, 8, s, tid: 11)
            .Alloc(2, 0x20, 40, s, tid: 10, function: AllocFunction.Realloc)
            .Build();
        Assert.Equal((24L, 1.0), (OnlySite(model).Metrics.ReallocGrowthBytes, OnlySite(model).Metrics.ReallocBlocks));
    }

    [Fact]
    public void A_realloc_without_a_recorded_free_before_it_adds_no_growth()
    {
        var m = new TestModel();
        var s = m.Stack("main", "app::grow");
        // realloc(NULL, n), or a realloc whose old block was not sampled: nothing to compare with.
        var model = m.Alloc(1, 0x10, 16, s).Alloc(2, 0x20, 32, s, function: AllocFunction.Realloc).Build();
        Assert.Equal((0L, 0.0), (OnlySite(model).Metrics.ReallocGrowthBytes, OnlySite(model).Metrics.ReallocBlocks));
    }
}
