using System.CommandLine;
using Profiler.Core;
using Profiler.Core.Analysis;
using Profiler.Core.Files;
using Profiler.Core.Model;
using Profiler.Export.Checks;

namespace Profiler.Cli.Commands;

/// <summary>Budgets to check and where to report them; <see cref="Budgets"/> already merges the
/// --budgets file under the command-line limits.</summary>
/// <param name="Sites">Which frame names a site in the verdict's lists of sites.</param>
public sealed record BudgetRequest(Budgets Budgets, CiEnvironment Ci, string? JUnitPath, SiteMode Sites = SiteMode.Program)
{
    public bool Requested => Budgets.Any;
}

/// <summary>The budget options shared by `memprof record` and `memprof check`.</summary>
public sealed class BudgetOptionSet
{
    readonly Option<ulong?> _maxPeak = new("--max-peak") { Description = "Fail when the heap's peak exceeds this size (e.g. 64MiB).", CustomParser = r => SizeParser.Parse(r.Tokens[0].Value) };
    readonly Option<ulong?> _maxLeaked = new("--max-leaked") { Description = "Fail when more than this is still live when the process exits.", CustomParser = r => SizeParser.Parse(r.Tokens[0].Value) };
    readonly Option<ulong?> _maxAllocated = new("--max-allocated") { Description = "Fail when more than this is allocated over the run.", CustomParser = r => SizeParser.Parse(r.Tokens[0].Value) };
    readonly Option<ulong?> _maxAllocs = new("--max-allocs") { Description = "Fail after more than N allocation calls.", CustomParser = r => BudgetFile.ParseCount(r.Tokens[0].Value) };
    readonly Option<bool> _failOnLeak = new("--fail-on-leak") { Description = "Fail when anything is still live at exit (use with --rate 1: a sampled recording can miss a small leak)." };
    readonly Option<string[]> _ignore = new("--ignore")
    {
        Description = "Leave sites out of the checks whose function or module matches this pattern (* and ? wildcards, e.g. 'test_harness::*'); repeatable.",
        Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false,
    };
    readonly Option<string?> _budgets = new("--budgets") { Description = "A budgets file (key = value lines: max-peak, max-leaked, max-allocated, max-allocs, fail-on-leak, ignore); options given here win." };
    readonly Option<bool> _ci = new("--ci") { Description = "CI mode (also when CI=true): no interactive output, a compact summary, Markdown to $GITHUB_STEP_SUMMARY when set." };
    readonly Option<string?> _junit = new("--junit") { Description = "Write JUnit XML with one test case per budget to this file." };
    readonly Option<SiteMode> _sites = SiteModeOption.Create();

    const long MaxBudgetFileBytes = 1 << 20;

    public IEnumerable<Option> All => [_maxPeak, _maxLeaked, _maxAllocated, _maxAllocs, _failOnLeak, _ignore, _budgets, _ci, _junit, _sites];

    public BudgetRequest Read(ParseResult parse)
    {
        var budgets = new Budgets(parse.GetValue(_maxPeak), parse.GetValue(_maxLeaked), parse.GetValue(_maxAllocated),
            parse.GetValue(_maxAllocs), parse.GetValue(_failOnLeak), parse.GetValue(_ignore) ?? []);
        if (parse.GetValue(_budgets) is { } file)
        {
            FileProbe.RequireRegularFile(file, "a budgets file");
            if (new FileInfo(file).Length > MaxBudgetFileBytes)
                throw new ProfilerException(ExitCode.UsageError, $"{file} is too large for a budgets file ({new FileInfo(file).Length:N0} bytes)");
            budgets = budgets.Over(BudgetFile.Parse(File.ReadAllText(file), file, SizeParser.Parse));
        }
        return new BudgetRequest(budgets, CiEnvironment.Current(parse.GetValue(_ci)), parse.GetValue(_junit), parse.GetValue(_sites));
    }
}

public sealed record CheckOptions(string Input, BudgetRequest Request)
{
    public string? SymbolPath { get; init; }
    public bool AllowIncomplete { get; init; }
}

public static class CheckCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("recording") { Description = "The .memprof recording to check." };
        var budgets = new BudgetOptionSet();
        var symbolPath = RecordingInput.SymbolPathOption();
        var allowIncomplete = RecordingInput.AllowIncompleteOption();
        var command = new Command("check",
            $"Check a recording against memory budgets. Exits {(int)ExitCode.BudgetExceeded} when one is broken, " +
            "naming the budget, by how much, and the top sites responsible.");
        command.Arguments.Add(input);
        foreach (var option in budgets.All) command.Options.Add(option);
        command.Options.Add(symbolPath);
        command.Options.Add(allowIncomplete);
        command.SetAction((parse, cancel) => Task.FromResult(Run(
            new CheckOptions(parse.GetValue(input)!, budgets.Read(parse))
            {
                SymbolPath = parse.GetValue(symbolPath), AllowIncomplete = parse.GetValue(allowIncomplete),
            },
            stdout, stderr, cancel)));
        return command;
    }

    public static int Run(CheckOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (!options.Request.Requested)
            throw new ProfilerException(ExitCode.UsageError,
                "no budget to check: give --max-peak, --max-leaked, --max-allocated, --max-allocs, --fail-on-leak or --budgets FILE");
        var model = RecordingInput.LoadForVerdict(options.Input, stderr, options.SymbolPath, options.AllowIncomplete);
        return Apply(model, options.Request, Path.GetFileName(options.Input), stdout);
    }

    /// <summary>Checks a loaded recording, prints the verdict, writes the CI summary and JUnit
    /// files asked for, and returns 0 or <see cref="ExitCode.BudgetExceeded"/>.</summary>
    public static int Apply(ProfileModel model, BudgetRequest request, string title, TextWriter output)
    {
        var figures = RecordingFigures.From(model, request.Sites);
        var outcome = BudgetCheck.Evaluate(figures, request.Budgets);
        CheckText.Write(outcome, output);
        if (request.Ci.StepSummaryPath is { } summary)
        {
            // GitHub's step summary is appended to, by each step: not ours to replace.
            try
            {
                using var writer = File.AppendText(summary);
                GitHubSummary.Write(title, outcome, GitHubSummary.TopSites(figures), writer);
            }
            catch (Exception e) when (OutputFile.IsWriteFailure(e)) { throw OutputFile.Failed(summary, e); }
        }
        if (request.JUnitPath is { } junit)
            OutputFile.Write(junit, file => JUnitReport.Write(title, outcome, file));
        return outcome.Passed ? (int)ExitCode.Success : (int)ExitCode.BudgetExceeded;
    }
}
