using System.CommandLine;
using Profiler.Core;
using Profiler.Core.Analysis;
using Profiler.Export;

namespace Profiler.Cli.Commands;

public sealed record ReportOptions(string Input, int Top)
{
    public SiteOrder By { get; init; } = SiteOrder.Retained;
    public uint? Pid { get; init; }
    public TimeSpan ShortLived { get; init; } = TimeSpan.FromTicks(MetricsOptions.DefaultShortLivedNanos / 100);
    public string? SymbolPath { get; init; }
    public SiteMode Sites { get; init; } = SiteMode.Program;
}

public static class ReportCommand
{
    static readonly string Orders = string.Join(", ", Enum.GetValues<SiteOrder>().Select(o => o.CommandName()));

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("recording") { Description = "The .memprof recording to report on." };
        var top = new Option<int>("--top", "-n") { Description = "How many sites to list.", DefaultValueFactory = _ => 10 };
        var by = new Option<SiteOrder>("--by", "-b")
        {
            Description = $"What to rank sites by: {Orders}. retained = live at the end, peak = live at the heap's " +
                          "peak, leaked = live when the process exited, count = blocks allocated. Default: retained.",
            DefaultValueFactory = _ => SiteOrder.Retained,
            CustomParser = r => ParseOrder(r.Tokens[0].Value),
        };
        var pid = new Option<uint?>("--pid", "-p") { Description = "Only this process of the recording (children are recorded too)." };
        var shortLived = new Option<TimeSpan>("--short-lived")
        {
            Description = "A block freed sooner than this after its allocation is short-lived (e.g. 0.5ms, 2s). Default: 1ms.",
            DefaultValueFactory = _ => TimeSpan.FromMilliseconds(1),
            CustomParser = r => DurationParser.Parse(r.Tokens[0].Value),
        };
        var symbolPath = RecordingInput.SymbolPathOption();
        var sites = SiteModeOption.Create();
        var command = new Command("report",
            "Print what was recorded, the heap's totals and peak, and the top allocation sites with DHAT-style metrics.")
        { input, top, by, pid, shortLived, symbolPath, sites };
        command.SetAction((parse, cancel) => Task.FromResult(Run(
            new ReportOptions(parse.GetValue(input)!, parse.GetValue(top))
            {
                By = parse.GetValue(by), Pid = parse.GetValue(pid), ShortLived = parse.GetValue(shortLived),
                SymbolPath = parse.GetValue(symbolPath), Sites = parse.GetValue(sites),
            }, stdout, stderr, cancel)));
        return command;
    }

    public static SiteOrder ParseOrder(string text) =>
        SiteRanking.TryParse(text, out var order) ? order
            : throw new ProfilerException(ExitCode.UsageError, $"'{text}' is not a site order (use one of {Orders})");

    public static int Run(ReportOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (options.Top <= 0) throw new ProfilerException(ExitCode.UsageError, "--top must be positive");
        var model = RecordingInput.Load(options.Input, stderr, options.SymbolPath, streamEvents: true);
        long shortLivedNanos = options.ShortLived.Ticks * 100;
        TextReport.Write(model, new TextReportOptions(options.By, options.Top, options.Pid, shortLivedNanos, options.Sites), stdout);
        return (int)ExitCode.Success;
    }
}
