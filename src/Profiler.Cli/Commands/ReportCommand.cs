using System.CommandLine;
using Profiler.Core;
using Profiler.Export;

namespace Profiler.Cli.Commands;

public sealed record ReportOptions(string Input, int Top);

public static class ReportCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("recording") { Description = "The .memprof recording to report on." };
        var top = new Option<int>("--top", "-n") { Description = "How many sites to list per table.", DefaultValueFactory = _ => 10 };
        var command = new Command("report", "Print the top allocation sites by retained and by allocated bytes.") { input, top };
        command.SetAction((parse, cancel) => Task.FromResult(Run(
            new ReportOptions(parse.GetValue(input)!, parse.GetValue(top)), stdout, stderr, cancel)));
        return command;
    }

    public static int Run(ReportOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (options.Top <= 0) throw new ProfilerException(ExitCode.UsageError, "--top must be positive");
        var model = RecordingLoader.Load(options.Input, stderr);
        TextReport.Write(model, options.Top, stdout);
        return (int)ExitCode.Success;
    }
}
