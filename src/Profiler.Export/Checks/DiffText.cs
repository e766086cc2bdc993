using System.Globalization;
using static Profiler.Formatting.ReportFormat;

namespace Profiler.Export.Checks;

/// <summary>`memprof diff` as text: the totals, then each site whose change passes the threshold,
/// largest first, regressions marked.</summary>
public static class DiffText
{
    public static void Write(DiffResult diff, string baseName, string newName, int top, TextWriter output)
    {
        var o = diff.Options;
        output.WriteLine($"memprof diff: {baseName} → {newName}");
        output.WriteLine($"Threshold:  {Percent(o.Threshold)} and {Bytes(o.MinBytes)}; " +
                         (diff.Exact ? "both recordings exact (rate 1): no noise allowance"
                                     : $"noise allowance {o.Sigmas.ToString(CultureInfo.InvariantCulture)} σ of the sampling error"));
        output.WriteLine();
        WriteSite(diff.Total, o, output, all: true);
        var shown = diff.Significant.ToList();
        output.WriteLine();
        if (shown.Count == 0)
        {
            output.WriteLine($"No site changed by more than the threshold ({diff.Sites.Count} sites compared).");
            return;
        }
        output.WriteLine($"{shown.Count} of {diff.Sites.Count} sites changed beyond the threshold, largest first:");
        foreach (var site in shown.Take(top)) WriteSite(site, o, output, all: false);
        if (shown.Count > top) output.WriteLine($"… and {shown.Count - top} more (--top)");
    }

    static void WriteSite(SiteChange site, DiffOptions o, TextWriter output, bool all)
    {
        string mark = site.IsRegression(o) ? "REGRESSION " : site.IsSignificant(o) ? "changed    " : "";
        output.WriteLine($"{mark}{site.Key}");
        foreach (var c in site.Changes.Where(c => all || c.IsSignificant(o)))
            output.WriteLine($"  {Name(c.Metric),-15} {Figure(c, c.Base),10} → {Figure(c, c.New),10}  {Signed(c),11} {Relative(c),8}" +
                             (c.Allowance > 0 ? $"  (noise ±{Figure(c, c.Allowance)})" : "") + (c.IsRegression(o) ? "  ▲" : ""));
    }

    static string Name(DiffMetric m) => m switch
    {
        DiffMetric.Allocated => "allocated",
        DiffMetric.Allocations => "allocations",
        DiffMetric.Peak => "peak",
        DiffMetric.Leaked => "leaked",
        _ => "leaked blocks",
    };

    static string Figure(MetricChange c, double v) => c.IsBytes ? Bytes((long)Math.Round(v)) : Count(v);

    static string Signed(MetricChange c) => (c.Delta > 0 ? "+" : "") + Figure(c, c.Delta);

    static string Relative(MetricChange c) => c.Relative is { } r ? r.ToString("+0.#%;-0.#%;0%", CultureInfo.InvariantCulture)
        : c.Delta == 0 ? "" : "new";

    static string Percent(double share) => share.ToString("0.##%", CultureInfo.InvariantCulture);
}
