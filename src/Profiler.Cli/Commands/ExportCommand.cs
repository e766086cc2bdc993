using System.CommandLine;
using Profiler.Core;
using Profiler.Core.Files;
using Profiler.Core.Model;
using Profiler.Export;
using Profiler.Export.Pprof;

namespace Profiler.Cli.Commands;

public sealed record ExportOptions(string Input, string Format, string? Output, string? SymbolPath = null)
{
    /// <summary>Past this many allocation and free rows a Firefox profile is a sample (<see cref="FirefoxSelection"/>).</summary>
    public long MaxRows { get; init; } = FirefoxSelection.DefaultMaxRows;
}

public static class ExportCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("recording") { Description = "The .memprof recording to export." };
        var format = new Option<string>("--format", "-f")
        {
            Description = "Output format: firefox (Firefox Profiler processed profile, gzipped JSON) or " +
                          "pprof (gzipped profile.proto heap profile, as go tool pprof reads).",
            DefaultValueFactory = _ => "firefox",
        };
        format.AcceptOnlyFromAmong("firefox", "pprof");
        var output = new Option<string?>("--output", "-o")
        {
            Description = "Output file. Default: the recording's name with .json.gz (firefox) or .pb.gz (pprof).",
        };
        var symbolPath = RecordingInput.SymbolPathOption();
        var maxRows = new Option<long>("--max-rows")
        {
            Description = $"Firefox: past this many allocation and free rows (default {FirefoxSelection.DefaultMaxRows:N0}, which the " +
                          "Profiler opens briskly), list every block live at the end or at the heap's peak and a weighted sample " +
                          "of the rest, with unbiased totals; the command says so with the sampling's error.",
            DefaultValueFactory = _ => FirefoxSelection.DefaultMaxRows,
        };
        var command = new Command("export", "Symbolize a recording and write it in another format.") { input, format, output, symbolPath, maxRows };
        command.SetAction((parse, cancel) => Task.FromResult(Run(
            new ExportOptions(parse.GetValue(input)!, parse.GetValue(format)!, parse.GetValue(output), parse.GetValue(symbolPath))
            {
                MaxRows = parse.GetValue(maxRows),
            },
            stdout, stderr, cancel)));
        return command;
    }

    public static int Run(ExportOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (options.MaxRows <= 0) throw new ProfilerException(ExitCode.UsageError, "--max-rows must be positive");
        bool pprof = options.Format switch
        {
            "firefox" => false,
            "pprof" => true,
            _ => throw new ProfilerException(ExitCode.UsageError, $"unknown export format '{options.Format}' (use firefox or pprof)"),
        };
        string output = options.Output ?? (pprof ? DefaultPprofPath(options.Input) : DefaultFirefoxPath(options.Input));
        // Checked before the (long) load: an output that is the recording itself would destroy it.
        OutputFile.Prepare(output, [options.Input]);
        // pprof sums the events per stack as it streams them; the Firefox profile lists at most
        // the rows the Profiler handles well, chosen as they stream.
        var model = RecordingInput.Load(options.Input, stderr, options.SymbolPath, streamEvents: true);
        if (pprof) OutputFile.Write(output, stream => PprofExporter.Write(model, stream, ElfModuleSegments.Read), [options.Input]);
        else WriteFirefox(model, output, [options.Input], stderr, options.MaxRows);
        stdout.WriteLine($"wrote {output}");
        return (int)ExitCode.Success;
    }

    /// <summary>The Firefox profile, gzipped when the name ends in .gz, written whole or not at all.</summary>
    /// <param name="maxRows">Past this many allocation and free rows the profile is a sample (<see cref="FirefoxSelection"/>), said on <paramref name="stderr"/>.</param>
    public static void WriteFirefox(ProfileModel model, string output, IEnumerable<string> inputs, TextWriter stderr,
        long maxRows = FirefoxSelection.DefaultMaxRows)
    {
        var (selected, sampling) = FirefoxSelection.Select(model, maxRows);
        if (sampling is not null) stderr.WriteLine($"memprof: the Firefox profile is {sampling.Description}");
        var builder = FirefoxExporter.Build(selected, sampling);
        OutputFile.Write(output, stream => builder.WriteTo(stream, gzip: output.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)), inputs);
    }

    public static string DefaultFirefoxPath(string recording) =>
        Path.ChangeExtension(recording, null) + ".json.gz";

    public static string DefaultPprofPath(string recording) =>
        Path.ChangeExtension(recording, null) + ".pb.gz";
}
