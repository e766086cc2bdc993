using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Sampling;

namespace Profiler.Export.Checks;

/// <summary>One allocation site (see <see cref="SiteMode"/>) and its metrics.</summary>
/// <param name="Via">The standard-library path the site allocated through, shortened; null for none.</param>
public sealed record SiteFigures(string Function, string? Module, AllocationMetrics Metrics, string? Via = null)
{
    /// <summary>How sites of two recordings are matched: function and module file name (the path
    /// through the standard library may differ between runs; the function is what the user owns).</summary>
    public string Key => Function + (Module is null ? "" : $" ({Module})");

    /// <summary>How a site is named to the user: function, the path it allocated through, module.</summary>
    public string Label => (Via is null ? Function : $"{Function} via {Via}") + (Module is null ? "" : $" ({Module})");
}

/// <summary>
/// What budgets and diffs look at in a recording: per-site metrics, the heap's peak and, when
/// the collector counted every allocator call, the exact totals.
/// </summary>
/// <param name="PeakBytes">The heap's peak over all processes.</param>
/// <param name="PeakExact">The peak comes from exact counters or from every event (rate 1).</param>
/// <param name="Exact">Exact call and byte totals, when every recorded process had counters.</param>
/// <param name="SamplingRateBytes">Mean bytes between samples; 1 = every allocation.</param>
public sealed record RecordingFigures(
    IReadOnlyList<SiteFigures> Sites, long PeakBytes, bool PeakExact, ExactHeapCounts? Exact, ulong SamplingRateBytes)
{
    public bool EveryAllocation => PoissonSampling.RecordsEverything(SamplingRateBytes);

    /// <summary>Bytes still live when the process exited, from the allocator's exact counters
    /// (usable bytes, read after its exit handlers and static destructors ran); null when the
    /// recording has no such counters, or several processes (a forked child's counters include
    /// the heap it inherited).</summary>
    public long? ExactLeakedBytes { get; init; }

    public static RecordingFigures From(ProfileModel model, SiteMode siteMode = SiteMode.Program)
    {
        var metrics = HeapMetrics.Compute(model, new MetricsOptions(SiteMode: siteMode));
        var sites = metrics.Sites(model.Tables).Select(s => new SiteFigures(s.Name, s.Module, s.Metrics, s.Via is null ? null : s.Via + s.OtherPathsText)).ToList();
        var processes = metrics.Timelines.Processes;
        bool missing = CounterCoverage.MissesProgramAllocator(model);
        var exact = !missing && processes.Count > 0 && processes.All(p => p.Exact is not null)
            ? processes.Select(p => p.Exact!).Aggregate((a, b) => a + b)
            : null;
        bool rateOne = PoissonSampling.RecordsEverything(model.Info.SamplingRateBytes);
        bool peakExact = !missing && (rateOne || processes.All(p => p.Source == HeapSource.Counters));
        return new RecordingFigures(sites, metrics.Timelines.Overall.PeakBytes, peakExact, exact, model.Info.SamplingRateBytes)
        {
            ExactLeakedBytes = CountedLeak(model),
        };
    }

    static long? CountedLeak(ProfileModel model)
    {
        if (model.Processes.Count != 1 || CounterCoverage.MissesProgramAllocator(model)) return null;
        var process = model.Processes[0];
        var last = model.Counters.LastOrDefault(c => c.Pid == process.Pid);
        if (last is not { LiveBytesKnown: true }) return null;
        // Leaked means live when the process ended; one still running at the end has leaked nothing yet.
        return process.ExitCode is null ? 0 : Math.Max(0, last.LiveBytes);
    }
}
