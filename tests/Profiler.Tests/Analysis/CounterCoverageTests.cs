using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Tests.Analysis;

/// <summary>"exact" is said of counters only when they are the whole heap: counted from the
/// process's start, by glibc's allocator; otherwise what they cover, and why.</summary>
public sealed class CounterCoverageTests
{
    static ProfileModel Model(bool launched, bool liveKnown, string mode = "uprobe-session")
    {
        var model = new TestModel().Build();
        return new ProfileModel
        {
            Info = model.Info with { Launched = launched, Mode = mode },
            Tables = model.Tables, Processes = model.Processes, Events = model.Events,
            Counters = [new HeapCounterSample(TestModel.Pid, 10, 5, 500, 2, 200, liveKnown, 300, 400, 5)],
        };
    }

    [Fact]
    public void A_launched_glibc_process_has_exact_counters()
    {
        var coverage = CounterCoverage.Of(Model(launched: true, liveKnown: true));
        Assert.True(coverage.Complete);
        Assert.Equal("exact", coverage.Qualifier);
    }

    [Fact]
    public void Attached_counters_run_from_the_attach()
    {
        var coverage = CounterCoverage.Of(Model(launched: false, liveKnown: true));
        Assert.False(coverage.Complete);
        Assert.Contains("from when memprof attached", coverage.Qualifier);
        Assert.StartsWith("counted, not exact", coverage.Qualifier);
    }

    [Fact]
    public void A_resident_preload_library_counts_from_the_process_start()
    {
        var coverage = CounterCoverage.Of(Model(launched: false, liveKnown: true, mode: CounterCoverage.ResidentPreloadNote + ": …; uprobe-session"));
        Assert.Contains("from the process's start", coverage.Qualifier);
    }

    [Fact]
    public void Another_allocator_leaves_live_bytes_unknown()
    {
        var coverage = CounterCoverage.Of(Model(launched: true, liveKnown: false));
        Assert.False(coverage.Complete);
        Assert.Contains("other than glibc's malloc", coverage.Qualifier);
    }

    [Fact]
    public void The_report_says_exact_only_when_it_is()
    {
        foreach (var (model, exact) in new[] { (Model(true, true), true), (Model(false, true), false), (Model(true, false), false) })
        {
            var output = new StringWriter();
            Profiler.Export.TextReport.Write(model, new Profiler.Export.TextReportOptions(), output);
            var counters = output.ToString().Split('\n').Single(l => l.StartsWith("Counters:"));
            Assert.Equal(exact, counters.EndsWith("; exact"));
            Assert.Equal(!exact, counters.Contains("counted, not exact"));
        }
    }

    [Fact]
    public void A_static_executable_whose_allocator_was_not_found_is_not_counted_exactly()
    {
        const string note = "st is statically linked and stripped: " + CounterCoverage.AllocatorNotFoundNote +
                            ", so only calls through the allocators found in other files were counted";
        var model = Model(launched: true, liveKnown: true, mode: "in-process sampling unavailable (st is statically linked); uprobe-session; " + note);
        var coverage = CounterCoverage.Of(model);
        Assert.Equal("counted, not exact: " + note, coverage.Qualifier);

        var output = new StringWriter();
        Profiler.Export.TextReport.Write(model, new Profiler.Export.TextReportOptions(), output);
        var lines = output.ToString().Split('\n');
        Assert.EndsWith(coverage.Qualifier, lines.Single(l => l.StartsWith("Counters:")));
        Assert.Contains("the executable's own was not found", lines.Single(l => l.StartsWith("Sampling:")));

        // Budgets are not judged on those counters as if exact.
        var figures = Profiler.Export.Checks.RecordingFigures.From(model);
        Assert.Null(figures.Exact);
        Assert.Null(figures.ExactLeakedBytes);
        Assert.False(figures.PeakExact);
        var exactFigures = Profiler.Export.Checks.RecordingFigures.From(Model(launched: true, liveKnown: true));
        Assert.NotNull(exactFigures.Exact);
    }
}
