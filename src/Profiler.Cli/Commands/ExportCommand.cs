using System.CommandLine;
using Profiler.Core;
using Profiler.Export;

namespace Profiler.Cli.Commands;

public sealed record ExportOptions(string Input, string Format, string? Output);

public static class ExportCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("recording") { Description = "The .memprof recording to export." };
        var format = new Option<string>("--format", "-f")
        {
            Description = "Output format: firefox (Firefox Profiler processed profile, gzipped JSON).",
            DefaultValueFactory = _ => "firefox",
        };
        format.AcceptOnlyFromAmong("firefox");
        var output = new Option<string?>("--output", "-o")
        {
            Description = "Output file. Default: the recording's name with .json.gz.",
        };
        var command = new Command("export", "Symbolize a recording and write it in another format.") { input, format, output };
        command.SetAction((parse, cancel) => Task.FromResult(Run(
            new ExportOptions(parse.GetValue(input)!, parse.GetValue(format)!, parse.GetValue(output)), stdout, stderr, cancel)));
        return command;
    }

    public static int Run(ExportOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        var model = RecordingLoader.Load(options.Input, stderr);
        string output = options.Output ?? DefaultFirefoxPath(options.Input);
        FirefoxExporter.Write(model, output);
        stdout.WriteLine($"wrote {output}");
        return (int)ExitCode.Success;
    }

    public static string DefaultFirefoxPath(string recording) =>
        Path.ChangeExtension(recording, null) + ".json.gz";
}
