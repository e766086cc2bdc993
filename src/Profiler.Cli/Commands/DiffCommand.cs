using System.CommandLine;
using System.Globalization;
using Profiler.Core;
using Profiler.Core.Analysis;
using Profiler.Export.Checks;

namespace Profiler.Cli.Commands;

public sealed record DiffCommandOptions(string Base, string New, DiffOptions Diff, bool FailOnRegression, int Top)
{
    public string? SymbolPath { get; init; }
    public SiteMode Sites { get; init; } = SiteMode.Program;
    public bool AllowIncomplete { get; init; }
}

public static class DiffCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var baseline = new Argument<string>("base") { Description = "The baseline .memprof recording." };
        var current = new Argument<string>("new") { Description = "The .memprof recording to compare with the baseline." };
        var threshold = new Option<double>("--threshold")
        {
            Description = "Report changes larger than this share of the baseline (e.g. 5%, 0.1). Default: 5%.",
            DefaultValueFactory = _ => 0.05,
            CustomParser = r => ParseShare(r.Tokens[0].Value),
        };
        var minChange = new Option<ulong>("--min-change")
        {
            Description = "Never report a byte change smaller than this. Default: 1KiB.",
            DefaultValueFactory = _ => 1024,
            CustomParser = r => SizeParser.Parse(r.Tokens[0].Value),
        };
        var fail = new Option<bool>("--fail-on-regression")
        {
            Description = $"Exit {(int)ExitCode.RegressionFound} when a total or a site grew beyond the threshold and beyond the " +
                          "sampling noise allowance (none at --rate 1, where figures are exact).",
        };
        var top = new Option<int>("--top", "-n") { Description = "How many changed sites to list. Default: 20.", DefaultValueFactory = _ => 20 };
        var symbolPath = RecordingInput.SymbolPathOption();
        var sites = SiteModeOption.Create();
        var allowIncomplete = RecordingInput.AllowIncompleteOption();
        var command = new Command("diff",
            "Compare two recordings: per-site and total changes of allocated, peak and leaked bytes and counts, largest first.")
        { baseline, current, threshold, minChange, fail, top, symbolPath, sites, allowIncomplete };
        command.SetAction((parse, cancel) => Task.FromResult(Run(new DiffCommandOptions(
            parse.GetValue(baseline)!, parse.GetValue(current)!,
            new DiffOptions(parse.GetValue(threshold), (long)parse.GetValue(minChange)),
            parse.GetValue(fail), parse.GetValue(top))
        {
            SymbolPath = parse.GetValue(symbolPath), Sites = parse.GetValue(sites), AllowIncomplete = parse.GetValue(allowIncomplete),
        }, stdout, stderr, cancel)));
        return command;
    }

    /// <summary>"5%" or "0.05" → 0.05.</summary>
    public static double ParseShare(string text)
    {
        string t = text.Trim();
        bool percent = t.EndsWith('%');
        if (percent) t = t[..^1];
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0 || double.IsInfinity(value))
            throw new ProfilerException(ExitCode.UsageError, $"'{text}' is not a threshold (examples: 5%, 0.1)");
        return percent ? value / 100 : value;
    }

    /// <summary>The program a recording ran (its command's file name), if it names one; an
    /// attached process's command is its whole command line in one string.</summary>
    static string? ProgramName(IReadOnlyList<string> command) =>
        command.Count > 0 && command[0].Trim().Length > 0 ? Path.GetFileName(command[0].Trim().Split(' ')[0]) : null;

    public static int Run(DiffCommandOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (options.Top <= 0) throw new ProfilerException(ExitCode.UsageError, "--top must be positive");
        var baseModel = RecordingInput.LoadForVerdict(options.Base, stderr, options.SymbolPath, options.AllowIncomplete);
        var newModel = RecordingInput.LoadForVerdict(options.New, stderr, options.SymbolPath, options.AllowIncomplete);
        if (ProgramName(baseModel.Info.Command) is { } a && ProgramName(newModel.Info.Command) is { } b && a != b)
            stderr.WriteLine($"memprof: warning: the recordings are of different programs ({a} and {b}): their sites are not comparable, " +
                             "so changes below may not be regressions");
        var baseline = RecordingFigures.From(baseModel, options.Sites);
        var current = RecordingFigures.From(newModel, options.Sites);
        var diff = ProfileDiff.Compute(baseline, current, options.Diff);
        DiffText.Write(diff, Path.GetFileName(options.Base), Path.GetFileName(options.New), options.Top, stdout);
        var regressions = diff.Regressions.ToList();
        if (!options.FailOnRegression || regressions.Count == 0) return (int)ExitCode.Success;
        stderr.WriteLine($"memprof: {regressions.Count} regression(s): {string.Join(", ", regressions.Select(r => r.Key))}");
        return (int)ExitCode.RegressionFound;
    }
}
