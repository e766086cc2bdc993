using Profiler.Core.Sampling;
using static Profiler.Formatting.ReportFormat;

namespace Profiler.Export.Checks;

/// <summary>The Markdown a CI job appends to <c>$GITHUB_STEP_SUMMARY</c>: the budgets and the top sites.</summary>
public static class GitHubSummary
{
    /// <param name="title">What was checked: the command or the recording's file name.</param>
    /// <param name="topSites">The recording's largest sites by allocated bytes, listed under the budgets.</param>
    public static void Write(string title, CheckOutcome outcome, IReadOnlyList<SiteFigures> topSites, TextWriter output)
    {
        output.WriteLine($"### memprof: {Escape(title)} — {(outcome.Passed ? "budgets held" : "budget broken")}");
        output.WriteLine();
        output.WriteLine(PoissonSampling.RecordsEverything(outcome.SamplingRateBytes)
            ? "Every allocation recorded (rate 1): figures are exact."
            : $"Sampled at one sample per {Bytes((long)outcome.SamplingRateBytes)} on average: figures marked ~ are estimates.");
        output.WriteLine();
        if (outcome.Results.Count > 0)
        {
            output.WriteLine("| Budget | Result | Limit | Actual | Top site |");
            output.WriteLine("|---|---|---:|---:|---|");
            foreach (var r in outcome.Results)
            {
                string top = r.TopSites.Count > 0 ? $"`{Escape(r.TopSites[0].Site.Label)}`" : "";
                output.WriteLine($"| {r.Kind.OptionName()} | {(r.Passed ? "✅ held" : "❌ broken")} | " +
                                 $"{CheckText.Figure(r.Kind, r.Limit)} | {(r.Exact ? "" : "~")}{CheckText.Figure(r.Kind, r.Actual)} | {top} |");
            }
            output.WriteLine();
        }
        if (topSites.Count == 0) return;
        output.WriteLine("| Site | Allocated | Allocations | Peak | Leaked |");
        output.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var s in topSites)
            output.WriteLine($"| `{Escape(s.Label)}` | {Bytes(s.Metrics.AllocatedBytes)} | {Count(s.Metrics.AllocatedBlocks)} | " +
                             $"{Bytes(s.Metrics.PeakBytes)} | {Bytes(s.Metrics.LeakedBytes)} |");
        output.WriteLine();
    }

    /// <summary>The largest sites by allocated bytes (ties by name, so the list is stable).</summary>
    public static IReadOnlyList<SiteFigures> TopSites(RecordingFigures figures, int count = 10) =>
        figures.Sites.OrderByDescending(s => s.Metrics.AllocatedBytes).ThenBy(s => s.Key, StringComparer.Ordinal).Take(count).ToList();

    static string Escape(string text) => text.Replace("|", "\\|").Replace("`", "'");
}
