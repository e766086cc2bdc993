using System.Collections.Concurrent;
using Profiler.Symbols.Demangling;
using Profiler.Symbols.Dwarf;
using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Resolution;

/// <summary>One module opened for symbolization: the file itself (which maps file offsets to
/// addresses), its separate debug file if it has one, the symbol table of the better of the two,
/// and the DWARF of whichever carries it. Safe to use from several threads at once.</summary>
internal sealed class LoadedModule : IDisposable
{
    private readonly ConcurrentDictionary<string, string> _demangled = new();
    private readonly Lazy<DwarfData?> _dwarf;
    private volatile string? _dwarfProblem;

    public LoadedModule(ElfFile elf, ElfFile? debugFile)
    {
        Elf = elf;
        DebugFile = debugFile;
        var symbolSource = !elf.HasSymtab && debugFile is { HasSymtab: true } ? debugFile : elf;
        Symbols = SymbolTable.Create(symbolSource);
        HasFullSymbols = symbolSource.HasSymtab;
        var dwarfSource = DwarfSections.IsPresentIn(elf) ? elf : debugFile;
        _dwarf = new Lazy<DwarfData?>(() => OpenDwarf(dwarfSource));
    }

    public ElfFile Elf { get; }

    public ElfFile? DebugFile { get; }

    public SymbolTable Symbols { get; }

    /// <summary>False when only .dynsym was there to name functions.</summary>
    public bool HasFullSymbols { get; }

    /// <summary>One line about damaged debug information, or null.</summary>
    public string? DwarfProblem
    {
        get
        {
            if (_dwarfProblem is { } problem)
                return problem;
            if (!_dwarf.IsValueCreated || _dwarf.Value is not { Problems.Count: > 0 } dwarf)
                return null;
            var problems = dwarf.Problems;
            string more = problems.Count > 1 ? $", and more ({problems.Count} units so far)" : "";
            return $"{dwarf.SourcePath}: damaged debug information ({problems.First()}{more}); frames there lack source lines";
        }
    }

    public string Demangled(string name) => _demangled.GetOrAdd(name, static n =>
    {
        int at = n.IndexOf('@');
        return Demangler.Demangle(at > 0 ? n[..at] : n);
    });

    /// <summary>The source frames at a link-time address (outermost first), or empty when the
    /// debug information says nothing there or cannot be read.</summary>
    public IReadOnlyList<SourceFrame> SourceAt(ulong address)
    {
        if (_dwarf.Value is not { } dwarf)
            return [];
        try
        {
            return dwarf.Lookup(address);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The reader guards each unit; anything that still escapes is a damaged file the
            // guards did not foresee. Its symbols still name the frame.
            _dwarfProblem ??= $"{dwarf.SourcePath}: damaged debug information ({ex.Message}); frames there lack source lines";
            return [];
        }
    }

    public void Dispose()
    {
        DebugFile?.Dispose();
        Elf.Dispose();
    }

    private DwarfData? OpenDwarf(ElfFile? source)
    {
        if (source is null)
            return null;
        try
        {
            return DwarfData.Open(source);
        }
        catch (Exception ex) when (ex is ElfFormatException or DwarfFormatException or InvalidDataException)
        {
            _dwarfProblem = $"{source.Path}: debug information cannot be read ({ex.Message}); frames there lack source lines";
            return null;
        }
    }
}
