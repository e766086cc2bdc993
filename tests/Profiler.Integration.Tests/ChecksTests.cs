using System.Text.RegularExpressions;
using System.Xml.Linq;
using Profiler.Core;

namespace Profiler.Integration.Tests;

/// <summary>Budgets and diffs on real recordings of the allocs sample, whose leaks are known
/// exactly from its manifest.</summary>
public sealed class ChecksTests : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-checks");

    public void Dispose() => _dir.Delete(recursive: true);

    string Out(string name) => Path.Combine(_dir.FullName, name);

    CliResult Record(string output, string[] budget, params string[] command) =>
        CliRunner.Run(["record", "--no-firefox", "-o", Out(output), .. budget, "--", .. command]);

    [Fact]
    public void A_budget_that_holds_exits_0_and_one_that_breaks_exits_with_the_budget_code_naming_the_leak()
    {
        RootRequired.Check();
        string sample = RepoPaths.Sample("allocs-fp");
        long leak = Manifest.Read(sample).Single(s => s.Function == "allocs::leak_leaf").LiveBytesAtExit;

        var held = Record("held.memprof", ["--rate", "1", "--max-leaked", "1MiB", "--max-peak", "64MiB"], sample, "leak");
        Assert.True(held.ExitCode == 0, $"exit {held.ExitCode}: {held.Stderr}");
        Assert.Contains("budgets: all 2 held", held.Stderr);

        string junit = Out("budgets.xml");
        var broken = Record("broken.memprof", ["--rate", "1", "--max-leaked", "1KiB", "--max-peak", "64MiB", "--junit", junit], sample, "leak");
        Assert.True(broken.ExitCode == (int)ExitCode.BudgetExceeded, $"exit {broken.ExitCode}: {broken.Stderr}");
        var failLine = broken.Stderr.Split('\n').Single(l => l.Contains("FAIL"));
        Assert.Contains("max-leaked", failLine);
        // The sample's leak site is listed first under the broken budget, with its exact bytes.
        var firstSite = broken.Stderr.Split('\n').SkipWhile(l => !l.Contains("FAIL")).ElementAt(1);
        Assert.Contains("allocs::leak_leaf", firstSite);
        Assert.Contains(Profiler.Formatting.ReportFormat.Bytes(leak), firstSite);

        var cases = XDocument.Load(junit).Descendants("testcase").ToList();
        Assert.Equal(["max-peak", "max-leaked"], cases.Select(c => (string)c.Attribute("name")!));
        Assert.Null(cases[0].Element("failure"));
        Assert.Contains("allocs::leak_leaf", cases[1].Element("failure")!.Value);

        // The same budgets checked on the recording afterwards give the same verdict.
        var check = CliRunner.Run("check", Out("broken.memprof"), "--max-leaked", "1KiB");
        Assert.Equal((int)ExitCode.BudgetExceeded, check.ExitCode);
        var ignored = CliRunner.Run("check", Out("broken.memprof"), "--max-leaked", "1KiB", "--ignore", "allocs::leak_*", "--ignore", "std::*");
        Assert.DoesNotContain("allocs::leak_leaf", ignored.Stdout);
    }

    [Fact]
    public void A_failing_commands_exit_code_passes_through_a_broken_budget()
    {
        RootRequired.Check();
        string sample = RepoPaths.Sample("allocs-fp");
        var result = Record("fails.memprof", ["--rate", "1", "--max-leaked", "1KiB"], "/bin/sh", "-c", $"'{sample}' leak; exit 7");
        Assert.True(result.ExitCode == 7, $"exit {result.ExitCode}: {result.Stderr}");
        Assert.Contains("allocs::leak_leaf", result.Stderr);
        Assert.Contains("FAIL max-leaked", result.Stderr);
    }

    [Fact]
    public void Diff_of_a_20_percent_larger_leak_flags_exactly_that_site()
    {
        RootRequired.Check();
        string sample = RepoPaths.Sample("allocs-fp");
        long baseLeak = Manifest.Read(sample).Single(s => s.Function == "allocs::leak_leaf").LiveBytesAtExit;
        long moreLeak = Manifest.Read(sample, "leak-more").Single(s => s.Function == "allocs::leak_leaf").LiveBytesAtExit;
        Assert.Equal(1.2, (double)moreLeak / baseLeak, 9);

        Assert.Equal(0, Record("base.memprof", ["--rate", "1"], sample, "leak").ExitCode);
        Assert.Equal(0, Record("more.memprof", ["--rate", "1"], sample, "leak-more").ExitCode);
        var diff = CliRunner.Run("diff", Out("base.memprof"), Out("more.memprof"), "--fail-on-regression");
        Assert.True(diff.ExitCode == (int)ExitCode.RegressionFound, $"exit {diff.ExitCode}:\n{diff.Stdout}\n{diff.Stderr}");
        var flagged = diff.Stdout.Split('\n').Where(l => l.StartsWith("REGRESSION ") || l.StartsWith("changed ")).ToList();
        Assert.Equal("REGRESSION total", flagged[0]);
        flagged.RemoveAt(0);
        Assert.True(flagged.Count == 1 && flagged[0].StartsWith("REGRESSION allocs::leak_leaf"), diff.Stdout);
        string leaked = Profiler.Formatting.ReportFormat.Bytes(moreLeak - baseLeak);
        Assert.Matches(new Regex($@"^\s+leaked\s.*\+{Regex.Escape(leaked)}\s+\+20%", RegexOptions.Multiline), diff.Stdout);
    }

    [Fact]
    public void Ten_pairs_of_runs_of_the_same_program_at_the_default_rate_flag_no_regression()
    {
        RootRequired.Check();
        string sample = RepoPaths.Sample("allocs-fp");
        var failures = new List<string>();
        for (int pair = 0; pair < 10; pair++)
        {
            string a = $"a{pair}.memprof", b = $"b{pair}.memprof";
            Assert.Equal(0, Record(a, [], sample).ExitCode);
            Assert.Equal(0, Record(b, [], sample).ExitCode);
            var diff = CliRunner.Run("diff", Out(a), Out(b), "--fail-on-regression");
            if (diff.ExitCode != 0) failures.Add($"pair {pair}: exit {diff.ExitCode}\n{diff.Stdout}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
