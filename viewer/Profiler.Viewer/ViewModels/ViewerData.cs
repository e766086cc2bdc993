using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Viewer.ViewModels;

/// <summary>
/// The analyses every view reads, run once per model and time range: the same HeapAnalysis and
/// HeapMetrics that <c>memprof report</c> uses. The timeline always shows the whole recording;
/// the other views see only the allocations made inside the selected range.
/// </summary>
public sealed class ViewerData
{
    public required ProfileModel Model { get; init; }
    /// <summary>Metrics of the whole recording (the timeline and status line read these).</summary>
    public required HeapMetrics Whole { get; init; }
    /// <summary>Metrics of the allocations in <see cref="Range"/>, or the whole recording.</summary>
    public required HeapMetrics Selected { get; init; }
    public required IReadOnlyList<FunctionMetrics> Sites { get; init; }
    public TimeRange? Range { get; init; }

    public CallTreeTables Tables => Model.Tables;

    /// <param name="previous">The data shown so far: when it is of the same model, its whole-recording
    /// metrics are kept (choosing a range changes only what is selected).</param>
    public static ViewerData Compute(ProfileModel model, TimeRange? range = null, MetricsOptions? options = null, ViewerData? previous = null)
    {
        var whole = previous is not null && ReferenceEquals(previous.Model, model) && previous.Whole.Options == (options ?? new MetricsOptions())
            ? previous.Whole
            : HeapMetrics.Compute(model, options);
        var selected = whole;
        if (range is { } r)
        {
            var narrowed = AllocatedIn(model, r);
            selected = HeapMetrics.Compute(narrowed, options);
        }
        return new ViewerData { Model = model, Whole = whole, Selected = selected, Sites = selected.Sites(model.Tables), Range = range };
    }

    /// <summary>
    /// The model restricted to the allocations made in the range, with the frees that released
    /// them (so lifetimes, retained and leaked bytes stay those of the allocations). The exact
    /// counters describe every call, not these, so they are left out.
    /// </summary>
    public static ProfileModel AllocatedIn(ProfileModel model, TimeRange range) =>
        new() { Info = model.Info, Tables = model.Tables, Processes = model.Processes, EventSource = new AllocatedInRange(model.EventSource, range) };
}
