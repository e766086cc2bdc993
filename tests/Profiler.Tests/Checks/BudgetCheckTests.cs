using Profiler.Cli;
using Profiler.Core;
using Profiler.Export.Checks;
using static Profiler.Tests.Checks.Figures;

namespace Profiler.Tests.Checks;

public sealed class BudgetCheckTests
{
    [Fact]
    public void A_budget_that_holds_passes_and_one_that_breaks_reports_how_much_and_the_sites()
    {
        var outcome = BudgetCheck.Evaluate(TestRun(), new Budgets(MaxPeak: 2_000_000, MaxLeaked: 100_000));
        var peak = outcome.Results.Single(r => r.Kind == BudgetKind.Peak);
        var leaked = outcome.Results.Single(r => r.Kind == BudgetKind.Leaked);
        Assert.True(peak.Passed);
        Assert.Equal(1_300_000, peak.Actual);
        Assert.False(leaked.Passed);
        // 40,960 + 100,000 + 1,024 leaked: over by 41,984.
        Assert.Equal(141_984, leaked.Actual);
        Assert.Equal(41_984, leaked.Over);
        Assert.Equal(["test_harness::capture_output", "app::cache::leak_entry", "std::rt::lang_start"],
            leaked.TopSites.Select(s => s.Site.Function));
        Assert.False(outcome.Passed);
    }

    [Fact]
    public void Ignored_sites_leave_every_figure()
    {
        var budgets = new Budgets(MaxPeak: 1, MaxLeaked: 1, MaxAllocated: 1, MaxAllocs: 1, Ignore: ["test_harness::*"]);
        var byKind = BudgetCheck.Evaluate(TestRun(), budgets).Results.ToDictionary(r => r.Kind);
        Assert.Equal(1_300_000 - 1_000_000, byKind[BudgetKind.Peak].Actual);
        Assert.Equal(40_960 + 1_024, byKind[BudgetKind.Leaked].Actual);
        Assert.Equal(7_042_460 - 2_000_000, byKind[BudgetKind.Allocated].Actual);
        Assert.Equal(50_034 - 20, byKind[BudgetKind.Allocs].Actual);
        Assert.All(byKind.Values, r => Assert.DoesNotContain(r.TopSites, s => s.Site.Function.StartsWith("test_harness")));
    }

    [Fact]
    public void Patterns_match_a_function_or_a_module_file_name_whole()
    {
        var p = new SitePattern(["test_harness::*", "libstd*.so", "a?c"]);
        Assert.True(p.Matches("test_harness::run::inner", "app"));
        Assert.True(p.Matches("anything", "libstd.so"));
        Assert.True(p.Matches("abc", null));
        Assert.False(p.Matches("my::test_harness::x", "app"));
        Assert.False(p.Matches("abcd", "app"));
    }

    [Fact]
    public void Without_exact_counters_totals_are_the_sum_of_the_sites_and_marked_estimates_when_sampled()
    {
        var sampled = TestRun(rate: 512 * 1024) with { Exact = null, PeakExact = false };
        var r = BudgetCheck.Evaluate(sampled, new Budgets(MaxAllocated: 1, FailOnLeak: true)).Results;
        Assert.Equal(40_960 + 2_000_000 + 5_000_000 + 1_500, r[0].Actual);
        Assert.False(r[0].Exact);
        Assert.Equal(BudgetKind.NoLeak, r[1].Kind);
        Assert.False(r[1].Passed);
    }

    [Fact]
    public void The_budgets_file_is_parsed_and_the_command_line_wins_over_it()
    {
        var file = BudgetFile.Parse("""
            # committed with the project
            max-peak = 64MiB
            max-leaked = 0      # nothing may leak
            max-allocs = 1_000_000
            fail-on-leak = true
            ignore = test_harness::*
            ignore = "libtest*"
            """, "memprof-budgets", SizeParser.Parse);
        Assert.Equal(new ulong?[] { 64UL << 20, 0, null, 1_000_000 }, [file.MaxPeak, file.MaxLeaked, file.MaxAllocated, file.MaxAllocs]);
        Assert.True(file.FailOnLeak);
        var merged = new Budgets(MaxPeak: 1024, Ignore: ["x::*"]).Over(file);
        Assert.Equal(1024UL, merged.MaxPeak);
        Assert.Equal(0UL, merged.MaxLeaked);
        Assert.Equal(["test_harness::*", "libtest*", "x::*"], merged.IgnorePatterns);
    }

    [Fact]
    public void A_bad_line_in_the_budgets_file_names_the_file_and_line()
    {
        var e = Assert.Throws<ProfilerException>(() => BudgetFile.Parse("max-peak = 1MiB\nmax-speed = 3\n", "b.conf", SizeParser.Parse));
        Assert.Equal(ExitCode.UsageError, e.ExitCode);
        Assert.StartsWith("b.conf:2: unknown key 'max-speed'", e.Message);
    }

    [Fact]
    public void Ci_mode_comes_from_the_option_or_CI_and_the_summary_only_in_ci()
    {
        Dictionary<string, string> env = new() { ["GITHUB_STEP_SUMMARY"] = "/s.md" };
        Assert.Equal(new CiEnvironment(false, null), CiEnvironment.From(false, env.GetValueOrDefault));
        Assert.Equal(new CiEnvironment(true, "/s.md"), CiEnvironment.From(true, env.GetValueOrDefault));
        env["CI"] = "true";
        Assert.Equal(new CiEnvironment(true, "/s.md"), CiEnvironment.From(false, env.GetValueOrDefault));
    }

    [Fact]
    public void The_github_summary_and_junit_report_match_their_goldens()
    {
        var figures = TestRun();
        var outcome = BudgetCheck.Evaluate(figures, new Budgets(MaxPeak: 2_000_000, MaxLeaked: 1024, MaxAllocs: 60_000, FailOnLeak: true,
            Ignore: ["test_harness::*"]));
        var markdown = new StringWriter { NewLine = "\n" };
        GitHubSummary.Write("cargo test", outcome, GitHubSummary.TopSites(figures), markdown);
        Golden.Verify("Golden/github-summary.md", markdown.ToString());

        using var xml = new MemoryStream();
        JUnitReport.Write("cargo test", outcome, xml);
        Golden.Verify("Golden/junit.xml", System.Text.Encoding.UTF8.GetString(xml.ToArray()));
    }
}
