using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Symbols.Pdb;
using Profiler.Symbols.Resolution;

namespace Profiler.Export;

/// <summary>Reads a recording and runs the symbolization pass; warnings go to the given writer.</summary>
public static class RecordingLoader
{
    /// <param name="inspect">Sees the recording as read, before anything is printed or symbolized
    /// (it may refuse it by throwing).</param>
    /// <param name="streamEvents">Leave the events in the file and read them again on each walk
    /// (<see cref="ProfileModel.EventSource"/>): memory then follows the stacks and the live
    /// blocks, not the events, for what only aggregates them (report, check, diff, pprof). The
    /// model has an event table only when the events had to be sorted.</param>
    public static ProfileModel Load(string path, TextWriter warnings, SymbolOptions? symbols = null,
        Action<RawRecording>? inspect = null, bool streamEvents = false)
    {
        var raw = streamEvents ? RecordingReader.ReadStreaming(path) : RecordingReader.Read(path);
        inspect?.Invoke(raw);
        foreach (var w in raw.Warnings) warnings.WriteLine($"memprof: warning: {w}");
        var resolver = Resolver(symbols ?? SymbolOptions.Default);
        ProfileModel model;
        try
        {
            if (raw.EventsInFile)
                // Events out of time order (never written so by memprof) are read whole and sorted.
                model = ProfileModelBuilder.BuildStreamed(raw, resolver)
                        ?? ProfileModelBuilder.Build(RecordingReader.Read(path), resolver);
            // Pairing frees with allocations needs no symbols: it runs while the stacks are resolved.
            else model = ProfileModelBuilder.Build(raw, resolver, streamEvents ? null : HeapAnalysis.StartComputing);
        }
        finally { (resolver as IDisposable)?.Dispose(); }
        if (resolver is IWarningSource source)
            foreach (var w in source.Warnings.Distinct()) warnings.WriteLine($"memprof: warning: {w}");
        if (raw.LastStats is { UntrackedSamples: > 0 } stats)
            warnings.WriteLine($"memprof: warning: {stats.UntrackedSamples:N0} sampled blocks could not be tracked (the kernel's table was full); " +
                               "their frees are missing, so they count as retained");
        if (raw.LostEvents > 0)
            warnings.WriteLine($"memprof: warning: {raw.LostEvents:N0} events were lost while recording (ring buffer full); totals are low by that much");
        return model;
    }

    /// <summary>Each module is named by the resolver for its format: ELF files from their symbol
    /// tables and DWARF, PE images from their PDBs.</summary>
    public static ModuleFormatResolver Resolver(SymbolOptions symbols) => new(format => format switch
    {
        ModuleFormat.Pe => new PdbFrameResolver(symbols.WindowsSymbolPath),
        _ => new ElfFrameResolver(symbols),
    });
}
