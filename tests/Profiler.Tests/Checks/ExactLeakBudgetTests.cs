using Profiler.Core.Analysis;
using Profiler.Export.Checks;

namespace Profiler.Tests.Checks;

/// <summary>Leak budgets with exact counters: the counted figure is judged (exact), not the
/// sampled one; with sites left out, the counters cannot be split by site, so the sites' figure is.</summary>
public sealed class ExactLeakBudgetTests
{
    [Fact]
    public void A_sampled_recording_with_counters_is_judged_on_the_counted_leak()
    {
        // Sampled: one 100 KiB block seen as ~548 KiB, where the counters say 72,712 B.
        var figures = new RecordingFigures([Figures.Site("pool", "libstdc++.so", allocated: 561_480, leaked: 561_480, leakedBlocks: 1)],
            PeakBytes: 2_000_000, PeakExact: true, Exact: new ExactHeapCounts(2001, 1_636_204, 2000, 1_579_024), SamplingRateBytes: 512 * 1024)
        { ExactLeakedBytes = 72_712 };
        var result = BudgetCheck.Evaluate(figures, new Budgets(MaxLeaked: 100_000)).Results.Single();
        Assert.True(result.Passed);
        Assert.Equal(72_712, result.Actual);
        Assert.True(result.Exact);
        // The sampled attribution stays beside it.
        Assert.Equal("pool", result.TopSites.Single().Site.Function);

        var noLeak = BudgetCheck.Evaluate(figures, new Budgets(FailOnLeak: true)).Results.Single();
        Assert.False(noLeak.Passed);
        Assert.Equal(72_712, noLeak.Actual);

        var ignoring = BudgetCheck.Evaluate(figures, new Budgets(MaxLeaked: 100_000, Ignore: ["pool"])).Results.Single();
        Assert.Equal(0, ignoring.Actual);
        Assert.False(ignoring.Exact);
    }
}
