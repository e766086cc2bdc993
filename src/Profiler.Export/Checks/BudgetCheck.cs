namespace Profiler.Export.Checks;

/// <summary>A site and its share of a budget's figure.</summary>
public sealed record SiteShare(SiteFigures Site, double Value);

/// <param name="Actual">The recording's figure (bytes, or calls for <see cref="BudgetKind.Allocs"/>).</param>
/// <param name="Exact">False when the figure is an estimate from samples.</param>
/// <param name="TopSites">The sites contributing most to the figure, largest first.</param>
public sealed record BudgetResult(BudgetKind Kind, ulong Limit, double Actual, bool Exact, IReadOnlyList<SiteShare> TopSites)
{
    public bool Passed => Actual <= Limit;
    public double Over => Actual - Limit;
}

public sealed record CheckOutcome(IReadOnlyList<BudgetResult> Results, ulong SamplingRateBytes, int IgnoredSites)
{
    public bool Passed => Results.All(r => r.Passed);
    public IEnumerable<BudgetResult> Failures => Results.Where(r => !r.Passed);
}

/// <summary>
/// Checks a recording's figures against budgets. Ignored sites are taken out of every figure:
/// totals are the exact counters (or the sum of all sites) minus the ignored sites' estimates,
/// and the peak is the heap's peak minus what the ignored sites had live at that moment.
/// </summary>
public static class BudgetCheck
{
    public const int TopSiteCount = 5;

    public static CheckOutcome Evaluate(RecordingFigures figures, Budgets budgets)
    {
        var ignore = new SitePattern(budgets.IgnorePatterns);
        var kept = figures.Sites.Where(s => !ignore.Matches(s.Function, s.Module)).ToList();
        var ignored = figures.Sites.Where(s => ignore.Matches(s.Function, s.Module)).ToList();
        var results = budgets.Limits()
            .Select(b => Result(b.Kind, b.Limit, figures, kept, ignored))
            .ToList();
        return new CheckOutcome(results, figures.SamplingRateBytes, ignored.Count);
    }

    static BudgetResult Result(BudgetKind kind, ulong limit, RecordingFigures figures, List<SiteFigures> kept, List<SiteFigures> ignored)
    {
        Func<SiteFigures, double> of = SiteValue(kind);
        double ignoredSum = ignored.Sum(of);
        bool noIgnored = ignoredSum == 0;
        (double actual, bool exact) = kind switch
        {
            BudgetKind.Peak => (Math.Max(0, figures.PeakBytes - ignoredSum), figures.PeakExact && (noIgnored || figures.EveryAllocation)),
            BudgetKind.Allocated when figures.Exact is { } e =>
                (Math.Max(0, e.AllocatedBytes - ignoredSum), noIgnored || figures.EveryAllocation),
            BudgetKind.Allocs when figures.Exact is { } e =>
                (Math.Max(0, Math.Round(e.Allocations - ignoredSum)), noIgnored || figures.EveryAllocation),
            // Leaks are judged on the counters when there are some: a sampled figure can be one
            // block's weight. (Ignored sites' estimates are of requested bytes, the counters' of
            // usable ones: with sites ignored, the sites' own figure is the fairer one.)
            BudgetKind.Leaked or BudgetKind.NoLeak when figures.ExactLeakedBytes is { } leaked && ignored.Count == 0 => (leaked, true),
            _ => (kept.Sum(of), figures.EveryAllocation),
        };
        if (kind == BudgetKind.Allocs) actual = Math.Round(actual);
        var top = kept.Select(s => new SiteShare(s, of(s))).Where(s => s.Value > 0)
            .OrderByDescending(s => s.Value).ThenBy(s => s.Site.Function, StringComparer.Ordinal)
            .Take(TopSiteCount).ToList();
        return new BudgetResult(kind, limit, actual, exact, top);
    }

    static Func<SiteFigures, double> SiteValue(BudgetKind kind) => kind switch
    {
        BudgetKind.Peak => s => s.Metrics.PeakBytes,
        BudgetKind.Allocated => s => s.Metrics.AllocatedBytes,
        BudgetKind.Allocs => s => s.Metrics.AllocatedBlocks,
        _ => s => s.Metrics.LeakedBytes,
    };
}
