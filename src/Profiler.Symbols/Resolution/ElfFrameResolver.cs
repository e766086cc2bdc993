using System.Collections.Concurrent;
using Profiler.Core.Model;
using Profiler.Symbols.Dwarf;
using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Resolution;

/// <summary>
/// Names addresses from the ELF files on this machine: functions, source files and lines, and the
/// calls inlined at each address, from DWARF (in the module or in a separate debug file found by
/// build id, debug link or the symbol paths); where there is none, from .symtab, else .dynsym,
/// demangled. A file whose build id differs from the recorded one is not used (it was rebuilt or
/// replaced since recording); its frames are named by module and offset instead.
/// Thread-safe: <see cref="Resolve"/> may be called from several threads at once, and
/// <see cref="ResolveMany"/> spreads a batch over the machine's cores.
/// </summary>
public sealed class ElfFrameResolver : IFrameResolver, IWarningSource, IDisposable
{
    private const string UnknownInlinedFunction = "??";

    private readonly DebugFileLocator _locator;
    private readonly ConcurrentDictionary<(string Path, string BuildId), Lazy<LoadedModule?>> _modules = new();
    private readonly ConcurrentQueue<string> _warnings = new();

    public ElfFrameResolver()
        : this(SymbolOptions.Default)
    {
    }

    public ElfFrameResolver(SymbolOptions options)
    {
        _locator = new DebugFileLocator(options);
    }

    public IReadOnlyList<string> Warnings
    {
        get
        {
            var loaded = LoadedModules().ToList();
            var stripped = loaded.Where(m => !m.HasFullSymbols).Select(m => Path.GetFileName(m.Elf.Path))
                .Distinct().Order(StringComparer.Ordinal).ToList();
            var result = new List<string>(_warnings);
            result.AddRange(loaded.Select(m => m.DwarfProblem).OfType<string>());
            if (stripped.Count > 0)
                result.Add($"names in {string.Join(", ", stripped)} come from dynamic symbols only (stripped; no debug symbols found)");
            return result;
        }
    }

    public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset)
    {
        var loaded = Load(module);
        if (loaded is null || loaded.Elf.FileOffsetToVirtualAddress(lookupOffset) is not { } vaddr)
            return [new ResolvedFrame(Unnamed(module, fileOffset), module.Path, module.BuildId, fileOffset, null, null)];
        ulong address = loaded.Elf.FileOffsetToVirtualAddress(fileOffset) ?? vaddr;
        string? symbol = loaded.Symbols.TryLookup(vaddr, out var hit) ? loaded.Demangled(hit.Name) : null;
        var source = loaded.SourceAt(vaddr);
        if (source.Count == 0)
            return [new ResolvedFrame(symbol ?? Unnamed(module, address), module.Path, module.BuildId, address, null, null)];
        var frames = new ResolvedFrame[source.Count];
        for (int i = 0; i < frames.Length; i++)
        {
            var frame = source[i];
            // The outermost frame is named like a frame without debug information, from the
            // symbol table: its names are complete where DWARF's may not be (GCC gives templates
            // over lambdas no linkage name) and tell compiler clones apart (.constprop, .cold).
            string function = i == 0
                ? symbol ?? frame.Function ?? Unnamed(module, address)
                : frame.Function ?? UnknownInlinedFunction;
            frames[i] = new ResolvedFrame(function, module.Path, module.BuildId, address, frame.File, frame.Line);
        }
        return frames;
    }

    /// <summary>Resolves a batch on all cores; the result at index i answers request i. Worth it
    /// for large batches, whose addresses fall in many compilation units that can be read in
    /// parallel.</summary>
    public IReadOnlyList<ResolvedFrame>[] ResolveMany(IReadOnlyList<FrameRequest> requests)
    {
        var results = new IReadOnlyList<ResolvedFrame>[requests.Count];
        Parallel.For(0, requests.Count, i =>
        {
            var request = requests[i];
            results[i] = Resolve(request.Module, request.LookupOffset, request.FileOffset);
        });
        return results;
    }

    public void Dispose()
    {
        foreach (var module in LoadedModules())
            module.Dispose();
        _modules.Clear();
    }

    private IEnumerable<LoadedModule> LoadedModules() =>
        _modules.Values.Where(m => m.IsValueCreated).Select(m => m.Value).OfType<LoadedModule>();

    private static string Unnamed(MappedModule module, ulong offset) => $"{Path.GetFileName(module.Path)}+0x{offset:x}";

    private LoadedModule? Load(MappedModule module) =>
        _modules.GetOrAdd((module.Path, module.BuildId),
            key => new Lazy<LoadedModule?>(() => Open(key.Path, key.BuildId), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    private LoadedModule? Open(string path, string recordedBuildId)
    {
        if (!ElfFile.TryOpen(path, out var elf, out var error))
        {
            _warnings.Enqueue($"{path}: {error}; its frames stay unnamed");
            return null;
        }
        if (recordedBuildId.Length > 0 && elf.BuildId is { } id && id != recordedBuildId)
        {
            _warnings.Enqueue($"{path} changed since recording (build id {id}, recorded {recordedBuildId}); its frames stay unnamed");
            elf.Dispose();
            return null;
        }
        try
        {
            // A module with its own DWARF needs no debug file; one without may have both symbols
            // and DWARF in a separate file (distribution debug packages, --symbol-path).
            var debugFile = DwarfSections.IsPresentIn(elf) ? null : _locator.Find(elf, recordedBuildId.Length > 0 ? recordedBuildId : elf.BuildId ?? "");
            return new LoadedModule(elf, debugFile);
        }
        catch (Exception ex) when (ex is ElfFormatException or IOException or UnauthorizedAccessException)
        {
            _warnings.Enqueue($"{path}: {ex.Message}; its frames stay unnamed");
            elf.Dispose();
            return null;
        }
    }
}
