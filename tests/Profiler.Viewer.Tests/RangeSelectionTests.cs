using Profiler.Core.Analysis;
using Profiler.Viewer.ViewModels;

namespace Profiler.Viewer.Tests;

/// <summary>Choosing a time range re-analyses only the allocations in it: the whole recording's
/// figures (timeline, status line) are kept, and the range's are those of analysing it afresh.</summary>
public sealed class RangeSelectionTests
{
    [Fact]
    public void A_range_keeps_the_whole_recording_analysis_and_narrows_the_rest_as_a_fresh_analysis_does()
    {
        var model = Fixture.Leak;
        var state = new ViewerState(model);
        var whole = state.Data.Whole;
        var times = model.Events.TimeNanos;
        var range = TimeRange.Between(times[times.Length / 3], times[2 * times.Length / 3]);

        state.SelectRange(range);

        Assert.Same(whole, state.Data.Whole);
        var fresh = ViewerData.Compute(model, range);
        Assert.NotSame(whole, fresh.Whole);
        Assert.Equal(fresh.Whole.Total, state.Data.Whole.Total);
        Assert.Equal(fresh.Selected.Total, state.Data.Selected.Total);
        Assert.Equal(fresh.Sites.Select(s => (s.Name, s.Metrics)), state.Data.Sites.Select(s => (s.Name, s.Metrics)));
        Assert.True(state.Data.Selected.Total.Samples < whole.Total.Samples);

        state.SelectRange(null);
        Assert.Same(whole, state.Data.Whole);
        Assert.Equal(whole.Total, state.Data.Selected.Total);
    }

    [Fact]
    public void Other_metric_options_are_not_taken_from_the_previous_data()
    {
        var model = Fixture.Leak;
        var previous = ViewerData.Compute(model);
        var strict = ViewerData.Compute(model, null, new MetricsOptions(ShortLivedNanos: 1), previous);
        Assert.NotSame(previous.Whole, strict.Whole);
        Assert.Equal(1, strict.Whole.Options.ShortLivedNanos);
    }
}
