using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Export.Checks;
using Profiler.Tests.Analysis;

namespace Profiler.Tests.Checks;

/// <summary>Budgets, their console verdict and the diff name sites as the report does: the
/// program's function and the standard-library path, or with --sites innermost the innermost frame.</summary>
public sealed class ProgramSiteChecksTests
{
    const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";

    /// <summary>app::scan leaks 32,816 B through opendir; app::load leaks 64 B through strdup.</summary>
    static ProfileModel Leaks(ulong scanBytes = 32_816)
    {
        var m = new TestModel().Process(TestModel.Pid, "app", endNanos: 100, exitCode: 0)
            .Library("opendir", null, Libc).Library("__alloc_dir", null, Libc).Library("strdup", null, Libc).Library("malloc", null, Libc);
        return m.Alloc(0, 0x10, scanBytes, m.Stack("main", "app::scan", "opendir", "__alloc_dir", "malloc"))
            .Alloc(1, 0x20, 64, m.Stack("main", "app::load", "strdup", "malloc"))
            .Build(durationNanos: 100);
    }

    [Fact]
    public void A_broken_budget_names_the_programs_sites_with_their_path()
    {
        var outcome = BudgetCheck.Evaluate(RecordingFigures.From(Leaks()), new Budgets(MaxLeaked: 1024));
        var text = new StringWriter();
        CheckText.Write(outcome, text);
        Assert.Equal(
            "memprof: budgets: 1 of 1 broken\n" +
            "  FAIL max-leaked: 32.1 KiB leaked, limit 1,024 B — over by 31.1 KiB (+3110.9%)\n" +
            "          32.0 KiB  app::scan via opendir → __alloc_dir (app)\n" +
            "              64 B  app::load via strdup (app)\n", text.ToString().ReplaceLineEndings("\n"));

        var innermost = BudgetCheck.Evaluate(RecordingFigures.From(Leaks(), SiteMode.Innermost), new Budgets(MaxLeaked: 1024));
        Assert.Equal(["__alloc_dir (libc.so.6)", "strdup (libc.so.6)"], innermost.Results[0].TopSites.Select(s => s.Site.Key));
    }

    [Fact]
    public void Ignore_patterns_match_the_function_not_the_path()
    {
        var outcome = BudgetCheck.Evaluate(RecordingFigures.From(Leaks()), new Budgets(MaxLeaked: 1024, Ignore: ["app::scan"]));
        Assert.True(outcome.Passed);
        Assert.Equal(1, outcome.IgnoredSites);
    }

    [Fact]
    public void The_diff_matches_sites_by_function_and_module()
    {
        var diff = ProfileDiff.Compute(RecordingFigures.From(Leaks()), RecordingFigures.From(Leaks(scanBytes: 65_632)), new DiffOptions());
        Assert.Equal(["app::scan (app)"], diff.Regressions.Where(r => r.Key != ProfileDiff.TotalKey).Select(r => r.Key));
        Assert.Equal(2, diff.Sites.Count);
    }
}
