using System.CommandLine;
using System.Text;
using Profiler.Collectors.JemallocImport;
using Profiler.Core;
using Profiler.Core.Files;
using Profiler.Symbols.Elf;

namespace Profiler.Cli.Commands;

/// <param name="Dumps">jemalloc heap profiles of one process, oldest first.</param>
/// <param name="Output">The recording to write; default: the first dump's name with .memprof.</param>
public sealed record ImportJemallocOptions(IReadOnlyList<string> Dumps, string? Output);

public static class ImportCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var dumps = new Argument<string[]>("dump")
        {
            Description = "jemalloc heap profiles (prof.dump, jeprof's heap_v2 input) of one process, oldest first; " +
                          "files with jemalloc's own names (PREFIX.PID.SEQ.KIND.heap) are put in SEQ order.",
            Arity = ArgumentArity.OneOrMore,
        };
        var output = new Option<string?>("--output", "-o")
        {
            Description = "The recording to write. Default: the first dump's name with .memprof.",
        };
        var jemalloc = new Command("jemalloc",
            "Convert jemalloc heap profiles into a recording that report, export and view read like any other. " +
            "Each backtrace's live objects are unsampled as jeprof does, so per-site retained bytes agree with " +
            "jeprof --inuse_space. Several dumps of one process become a timeline: per backtrace, growth since " +
            "the previous dump becomes allocations at the dump's time and shrinkage becomes frees. Dumps count " +
            "objects per backtrace, so objects cannot be matched across dumps, only backtraces: lifetimes and " +
            "allocated totals are approximations, retained bytes at each dump are not. Dumps carry no time; " +
            "their files' modification times are used (1 ms apart at least, in dump order). The pid comes " +
            "from jemalloc's file names (PREFIX.PID.SEQ.KIND.heap), else 0.")
        { dumps, output };
        jemalloc.SetAction((parse, cancel) => Task.FromResult(RunJemalloc(
            new ImportJemallocOptions(parse.GetValue(dumps)!, parse.GetValue(output)), stdout, stderr, cancel)));
        return new Command("import", "Convert another profiler's output into a .memprof recording.") { jemalloc };
    }

    public static int RunJemalloc(ImportJemallocOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (options.Dumps.Count == 0) throw new ProfilerException(ExitCode.UsageError, "name at least one heap profile to import");
        uint pid = DumpFiles.CommonPid(options.Dumps);
        var ordered = DumpFiles.InDumpOrder(options.Dumps);
        string output = options.Output ?? Path.ChangeExtension(ordered[0], ".memprof");
        OutputFile.Prepare(output, options.Dumps);
        var dumps = new List<HeapDump>(ordered.Count);
        foreach (var path in ordered)
        {
            cancel.ThrowIfCancellationRequested();
            dumps.Add(Read(path));
        }
        // Written aside and renamed when complete, so a failed import leaves no half recording.
        ImportSummary summary = default!;
        OutputFile.Write(output,
            stream => summary = JemallocImporter.Write(dumps, stream, new JemallocImportOptions(pid, BuildIdOf, MemprofCli.Version), cancel),
            options.Dumps);
        stdout.WriteLine($"wrote {output}: {summary.Dumps} dump{(summary.Dumps == 1 ? "" : "s")} of pid {pid}, {summary.Stacks:N0} backtraces, " +
                         $"{summary.Allocations:N0} allocations and {summary.Frees:N0} frees, {summary.RetainedBytes:N0} B live at the last dump");
        return (int)ExitCode.Success;
    }

    static HeapDump Read(string path)
    {
        FileProbe.RequireRegularFile(path, "a heap profile");
        try
        {
            using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
            var profile = HeapProfileParser.Parse(reader, path);
            return new HeapDump(path, profile, File.GetLastWriteTimeUtc(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProfilerException(ExitCode.FileNotFound, $"{path}: cannot read it ({e.Message})", e);
        }
    }

    /// <summary>The build id of a mapped file as it is now; "" when it is gone or not ELF.</summary>
    static string BuildIdOf(string path)
    {
        try
        {
            if (!File.Exists(path)) return "";
            using var elf = ElfFile.Open(path);
            return elf.BuildId ?? "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ElfFormatException) { return ""; }
    }
}
