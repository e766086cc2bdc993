using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Symbols.Resolution;

namespace Profiler.Export;

/// <summary>Reads a recording and runs the symbolization pass; warnings go to the given writer.</summary>
public static class RecordingLoader
{
    /// <param name="resolverFor">Picks a resolver for recordings whose modules are not ELF files
    /// (Windows); null from it, or no function, means the ELF resolver.</param>
    /// <param name="inspect">Sees the recording as read, before anything is printed or symbolized
    /// (it may refuse it by throwing).</param>
    public static ProfileModel Load(string path, TextWriter warnings, SymbolOptions? symbols = null,
        Func<RawRecording, IFrameResolver?>? resolverFor = null, Action<RawRecording>? inspect = null)
    {
        var raw = RecordingReader.Read(path);
        inspect?.Invoke(raw);
        foreach (var w in raw.Warnings) warnings.WriteLine($"memprof: warning: {w}");
        var resolver = resolverFor?.Invoke(raw) ?? new ElfFrameResolver(symbols ?? SymbolOptions.Default);
        ProfileModel model;
        // Pairing frees with allocations needs no symbols: it runs while the stacks are resolved.
        try { model = ProfileModelBuilder.Build(raw, resolver, HeapAnalysis.StartComputing); }
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
}
