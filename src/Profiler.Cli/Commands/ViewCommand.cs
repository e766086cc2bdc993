using System.CommandLine;
using Profiler.Core;
using Profiler.Core.Analysis;
using Profiler.Viewer.Ui;
using Profiler.Viewer.ViewModels;

namespace Profiler.Cli.Commands;

public sealed record ViewOptions(string Input)
{
    public uint? Pid { get; init; }
    public TimeSpan ShortLived { get; init; } = TimeSpan.FromTicks(MetricsOptions.DefaultShortLivedNanos / 100);
    public string? SymbolPath { get; init; }
    public SiteMode Sites { get; init; } = SiteMode.Program;
}

/// <summary>`memprof view FILE.memprof`: the recording in the terminal UI.</summary>
public static class ViewCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("recording") { Description = "The .memprof recording to explore." };
        var pid = new Option<uint?>("--pid", "-p") { Description = "Only this process of the recording." };
        var shortLived = new Option<TimeSpan>("--short-lived")
        {
            Description = "A block freed sooner than this after its allocation is short-lived (e.g. 0.5ms, 2s). Default: 1ms.",
            DefaultValueFactory = _ => TimeSpan.FromMilliseconds(1),
            CustomParser = r => DurationParser.Parse(r.Tokens[0].Value),
        };
        var symbolPath = RecordingInput.SymbolPathOption();
        var sites = SiteModeOption.Create();
        var command = new Command("view",
            "Explore a recording in the terminal: top sites, call tree (top-down and inverted), heap timeline with range " +
            "selection, and the full stacks of a site. Keyboard driven; works over SSH.")
        { input, pid, shortLived, symbolPath, sites };
        command.SetAction((parse, cancel) => Task.FromResult(Run(
            new ViewOptions(parse.GetValue(input)!)
            {
                Pid = parse.GetValue(pid), ShortLived = parse.GetValue(shortLived), SymbolPath = parse.GetValue(symbolPath),
                Sites = parse.GetValue(sites),
            }, stdout, stderr, cancel)));
        return command;
    }

    public static int Run(ViewOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        RequireTerminal();
        var model = RecordingInput.Load(options.Input, stderr, options.SymbolPath, streamEvents: true);
        if (options.Pid is { } p && !model.Processes.Any(x => x.Pid == p) && !model.Counters.Any(c => c.Pid == p))
            throw new ProfilerException(ExitCode.TargetNotFound,
                $"no process {p} in the recording; it has {string.Join(", ", model.Processes.Select(x => x.Pid))}");
        var state = new ViewerState(model, MetricsOptionsOf(options.Pid, options.ShortLived) with { SiteMode = options.Sites });
        ViewerApp.RunInTerminal(state);
        return (int)ExitCode.Success;
    }

    internal static MetricsOptions MetricsOptionsOf(uint? pid, TimeSpan shortLived) => new(pid, shortLived.Ticks * 100);

    internal static void RequireTerminal()
    {
        if (Console.IsInputRedirected || Console.IsOutputRedirected)
            throw new ProfilerException(ExitCode.UsageError, "the terminal UI needs a terminal: run it without redirecting input or output");
    }
}
