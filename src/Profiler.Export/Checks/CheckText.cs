using System.Globalization;
using static Profiler.Formatting.ReportFormat;

namespace Profiler.Export.Checks;

/// <summary>The compact, non-interactive verdict of a check: one line per budget, and under a
/// broken one the sites responsible.</summary>
public static class CheckText
{
    public static void Write(CheckOutcome outcome, TextWriter output)
    {
        int broken = outcome.Failures.Count();
        string verdict = broken == 0 ? $"all {outcome.Results.Count} held" : $"{broken} of {outcome.Results.Count} broken";
        string ignored = outcome.IgnoredSites > 0 ? $"; {outcome.IgnoredSites} ignored site(s) left out" : "";
        output.WriteLine($"memprof: budgets: {verdict}{ignored}");
        // Per-site figures come from the events: estimates unless every allocation was recorded.
        string approx = Core.Sampling.PoissonSampling.RecordsEverything(outcome.SamplingRateBytes) ? "" : "~";
        foreach (var r in outcome.Results)
        {
            output.WriteLine($"  {(r.Passed ? "ok  " : "FAIL")} {Describe(r)}");
            if (r.Passed) continue;
            foreach (var share in r.TopSites)
                output.WriteLine($"       {approx + Figure(r.Kind, share.Value),11}  {share.Site.Label}");
        }
    }

    /// <summary>"max-leaked: 52.0 KiB leaked, limit 1,024 B — over by 51.0 KiB (+5,100%)".</summary>
    public static string Describe(BudgetResult r)
    {
        string actual = (r.Exact ? "" : "~") + Figure(r.Kind, r.Actual) + " " + Noun(r.Kind);
        if (r.Kind == BudgetKind.NoLeak)
            return r.Passed ? "fail-on-leak: nothing leaked" : $"fail-on-leak: {actual}";
        string text = $"{r.Kind.OptionName()}: {actual}, limit {Figure(r.Kind, r.Limit)}";
        if (r.Passed) return text;
        string share = r.Limit > 0 ? $" ({(r.Over / r.Limit).ToString("+0.#%", CultureInfo.InvariantCulture)})" : "";
        return $"{text} — over by {Figure(r.Kind, r.Over)}{share}";
    }

    public static string Figure(BudgetKind kind, double value) =>
        kind.IsBytes() ? Bytes((long)Math.Round(value)) : Count(value);

    static string Noun(BudgetKind kind) => kind switch
    {
        BudgetKind.Peak => "at peak",
        BudgetKind.Allocated => "allocated",
        BudgetKind.Allocs => "allocations",
        _ => "leaked",
    };
}
