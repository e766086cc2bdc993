using Profiler.Core.Analysis;

namespace Profiler.Export.Checks;

public enum DiffMetric { Allocated, Allocations, Peak, Leaked, LeakedBlocks }

/// <param name="Threshold">A change is reported when it exceeds this share of the base (0.05 = 5%).</param>
/// <param name="MinBytes">Byte changes smaller than this are never reported (a few bytes of a
/// longer argument or path are not a regression).</param>
/// <param name="Sigmas">The noise allowance in standard deviations of the sampling error.</param>
public sealed record DiffOptions(double Threshold = 0.05, long MinBytes = 1024, double Sigmas = 4);

/// <param name="Allowance">How much the figure may move from sampling alone: 0 when both
/// figures are exact.</param>
public sealed record MetricChange(DiffMetric Metric, double Base, double New, double Allowance)
{
    public double Delta => New - Base;
    public double? Relative => Base != 0 ? Delta / Base : null;
    public bool IsBytes => Metric is not (DiffMetric.Allocations or DiffMetric.LeakedBlocks);

    /// <summary>Larger than the threshold, the minimum and the noise allowance (either way).</summary>
    public bool IsSignificant(DiffOptions o) =>
        Math.Abs(Delta) > o.Threshold * Math.Abs(Base) && Math.Abs(Delta) > Allowance &&
        Math.Abs(Delta) >= (IsBytes ? Math.Max(1, o.MinBytes) : 1);

    public bool IsRegression(DiffOptions o) => Delta > 0 && IsSignificant(o);
}

/// <param name="Key">The site (function and module), or "total".</param>
public sealed record SiteChange(string Key, IReadOnlyList<MetricChange> Changes)
{
    public bool IsRegression(DiffOptions o) => Changes.Any(c => c.IsRegression(o));
    public bool IsSignificant(DiffOptions o) => Changes.Any(c => c.IsSignificant(o));
    /// <summary>What the sites are ordered by: the largest change in bytes.</summary>
    public double Magnitude => Changes.Where(c => c.IsBytes).Select(c => Math.Abs(c.Delta)).DefaultIfEmpty(0).Max();
}

public sealed record DiffResult(DiffOptions Options, SiteChange Total, IReadOnlyList<SiteChange> Sites, bool Exact)
{
    public IEnumerable<SiteChange> Significant => Sites.Where(s => s.IsSignificant(Options));
    public IEnumerable<SiteChange> Regressions => new[] { Total }.Concat(Sites).Where(s => s.IsRegression(Options));
}

/// <summary>
/// Per-site and total changes between two recordings, with a noise allowance for sampling.
/// A sampled recording's estimate of B bytes at rate R has a variance of at most R·B (each
/// allocation of s bytes contributes s²(1−p)/p ≤ s·R), and its estimate of N blocks of mean
/// size B/N at most R·N²/B; the allowance is <see cref="DiffOptions.Sigmas"/> standard deviations
/// of the difference of the two independent estimates, 0 for exact figures (rate 1, counters).
/// </summary>
public static class ProfileDiff
{
    public const string TotalKey = "total";

    public static DiffResult Compute(RecordingFigures baseline, RecordingFigures current, DiffOptions options)
    {
        double rb = Rate(baseline), rn = Rate(current);
        var baseSites = Group(baseline.Sites);
        var newSites = Group(current.Sites);
        var sites = baseSites.Keys.Union(newSites.Keys)
            .Select(key => Change(key, baseSites.GetValueOrDefault(key), newSites.GetValueOrDefault(key), rb, rn, options))
            .OrderByDescending(s => s.Magnitude).ThenBy(s => s.Key, StringComparer.Ordinal)
            .ToList();
        var total = TotalChange(baseline, current, sites, rb, rn, options);
        return new DiffResult(options, total, sites, rb == 0 && rn == 0);
    }

    /// <summary>The sampling rate as the variance bound uses it: 0 when every allocation is recorded.</summary>
    static double Rate(RecordingFigures f) => f.EveryAllocation ? 0 : f.SamplingRateBytes;

    static Dictionary<string, AllocationMetrics> Group(IEnumerable<SiteFigures> sites)
    {
        var result = new Dictionary<string, AllocationMetrics>();
        foreach (var s in sites) result[s.Key] = result.GetValueOrDefault(s.Key) + s.Metrics;
        return result;
    }

    static SiteChange Change(string key, AllocationMetrics b, AllocationMetrics n, double rb, double rn, DiffOptions o) => new(key,
    [
        Bytes(DiffMetric.Allocated, b.AllocatedBytes, n.AllocatedBytes, rb, rn, o),
        Blocks(DiffMetric.Allocations, b.AllocatedBlocks, b.AllocatedBytes, n.AllocatedBlocks, n.AllocatedBytes, rb, rn, o),
        Bytes(DiffMetric.Peak, b.PeakBytes, n.PeakBytes, rb, rn, o),
        Bytes(DiffMetric.Leaked, b.LeakedBytes, n.LeakedBytes, rb, rn, o),
        Blocks(DiffMetric.LeakedBlocks, b.LeakedBlocks, b.LeakedBytes, n.LeakedBlocks, n.LeakedBytes, rb, rn, o),
    ]);

    /// <summary>Totals: the sites summed, their allowances combined as independent errors
    /// (variances add: a blocks variance does not follow from summed bytes and blocks of
    /// mixed sizes); the exact counters and peak where both recordings have them.</summary>
    static SiteChange TotalChange(RecordingFigures b, RecordingFigures n, IReadOnlyList<SiteChange> sites, double rb, double rn, DiffOptions o)
    {
        var metrics = Enum.GetValues<DiffMetric>();
        var changes = metrics.Select((metric, i) => new MetricChange(metric,
            sites.Sum(s => s.Changes[i].Base), sites.Sum(s => s.Changes[i].New),
            Math.Sqrt(sites.Sum(s => s.Changes[i].Allowance * s.Changes[i].Allowance)))).ToList();
        if (b.Exact is { } be && n.Exact is { } ne)
        {
            changes[(int)DiffMetric.Allocated] = new MetricChange(DiffMetric.Allocated, be.AllocatedBytes, ne.AllocatedBytes, 0);
            changes[(int)DiffMetric.Allocations] = new MetricChange(DiffMetric.Allocations, be.Allocations, ne.Allocations, 0);
        }
        double peakAllowance = b.PeakExact && n.PeakExact ? 0 : BytesAllowance(b.PeakBytes, n.PeakBytes, rb, rn, o);
        changes[(int)DiffMetric.Peak] = new MetricChange(DiffMetric.Peak, b.PeakBytes, n.PeakBytes, peakAllowance);
        return new SiteChange(TotalKey, changes);
    }

    static MetricChange Bytes(DiffMetric metric, long b, long n, double rb, double rn, DiffOptions o) =>
        new(metric, b, n, BytesAllowance(b, n, rb, rn, o));

    static double BytesAllowance(long b, long n, double rb, double rn, DiffOptions o) =>
        o.Sigmas * Math.Sqrt(rb * Math.Max(0, b) + rn * Math.Max(0, n));

    static MetricChange Blocks(DiffMetric metric, double b, long bBytes, double n, long nBytes, double rb, double rn, DiffOptions o)
    {
        double variance = (bBytes > 0 ? rb * b * b / bBytes : 0) + (nBytes > 0 ? rn * n * n / nBytes : 0);
        return new MetricChange(metric, b, n, o.Sigmas * Math.Sqrt(variance));
    }
}
