using System.Collections.Concurrent;
using Profiler.Symbols.Demangling;
using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Dwarf;

/// <summary>
/// The DWARF debug information of one ELF file, read lazily: opening walks only the unit headers;
/// the address index is built on the first lookup; a unit's entries and line table are read when
/// an address first falls in it, and kept. Safe to use from several threads at once. A damaged
/// unit costs only its own answers (see <see cref="Problems"/>). Must not outlive its
/// <see cref="ElfFile"/>, whose mapping it reads.
/// </summary>
public sealed class DwarfData
{
    private const int MaxNameChain = 16;
    private const int MaxProblems = 20;

    private readonly DwarfSections _sections;
    private readonly List<UnitHeader> _units;
    private readonly UnitState?[] _states;
    private readonly Lazy<UnitAddressIndex> _index;
    private readonly ConcurrentDictionary<ulong, AbbreviationTable> _abbreviations = new();
    private readonly ConcurrentDictionary<ulong, string?> _names = new();
    private readonly ConcurrentQueue<string> _problems = new();

    private DwarfData(string sourcePath, DwarfSections sections)
    {
        SourcePath = sourcePath;
        _sections = sections;
        _units = UnitHeader.ReadAll(sections.Info, out string? problem);
        if (problem is not null)
            _problems.Enqueue(problem);
        _states = new UnitState?[_units.Count];
        _index = new Lazy<UnitAddressIndex>(() => UnitAddressIndex.Build(this, _sections, _units));
    }

    /// <summary>The file the debug information was read from.</summary>
    public string SourcePath { get; }

    /// <summary>Number of units in .debug_info (type units included).</summary>
    public int UnitCount => _units.Count;

    /// <summary>What was found damaged so far (the first few), one line each.</summary>
    public IReadOnlyCollection<string> Problems => _problems;

    /// <summary>The file's debug information, or null when it has none (no .debug_info).</summary>
    /// <exception cref="ElfFormatException">A debug section cannot be read or decompressed.</exception>
    public static DwarfData? Open(ElfFile elf) =>
        DwarfSections.IsPresentIn(elf) ? new DwarfData(elf.Path, DwarfSections.Load(elf)) : null;

    /// <summary>The source frames at link-time address <paramref name="address"/>, outermost first:
    /// the function, then each call inlined into it down to the code at the address. Each frame's
    /// line is where the next frame was inlined; the last one's is the address's own line. Empty
    /// when no unit describes the address.</summary>
    public IReadOnlyList<SourceFrame> Lookup(ulong address)
    {
        var units = new List<int>();
        _index.Value.UnitsAt(address, units);
        var chain = new List<int>();
        foreach (int unit in units)
        {
            var state = State(unit);
            var scopes = state.Scopes;
            var lines = state.Lines;
            chain.Clear();
            scopes?.FindChain(address, chain);
            uint file = 0;
            int line = 0;
            var position = lines is not null && lines.TryFind(address, out file, out line)
                ? new SourceFrame(null, lines.FilePath(file), line == 0 ? null : line)
                : null;
            if (scopes is not null && chain.Count > 0)
                return Frames(scopes, chain, lines, position);
            if (position is not null)
                return [position];
        }
        return [];
    }

    /// <summary>Names each scope of the chain; each frame takes its line from the call inlined
    /// into it, the innermost from the line table.</summary>
    private SourceFrame[] Frames(UnitScopes scopes, List<int> chain, LineTable? lines, SourceFrame? position)
    {
        var frames = new SourceFrame[chain.Count];
        for (int i = 0; i < chain.Count; i++)
        {
            string? function = FunctionName(scopes[chain[i]].EntryOffset);
            if (i == chain.Count - 1)
            {
                frames[i] = new SourceFrame(function, position?.File, position?.Line);
            }
            else
            {
                ref readonly var call = ref scopes[chain[i + 1]];
                frames[i] = new SourceFrame(function, lines?.FilePath(call.CallFile), call.CallLine == 0 ? null : call.CallLine);
            }
        }
        return frames;
    }

    internal DwarfUnit? Unit(int index) => State(index).Unit;

    internal UnitScopes? Scopes(int index) => State(index).Scopes;

    /// <summary>Created on first use: most units of a large file are never looked at.</summary>
    private UnitState State(int index)
    {
        var state = Volatile.Read(ref _states[index]);
        if (state is not null)
            return state;
        Interlocked.CompareExchange(ref _states[index], new UnitState(this, index), null);
        return _states[index]!;
    }

    internal void Report(UnitHeader unit, Exception problem)
    {
        if (_problems.Count < MaxProblems)
            _problems.Enqueue($"unit at .debug_info offset 0x{unit.Offset:x}: {problem.Message}");
    }

    /// <summary>The name of the function an entry describes: its demangled linkage name, else its
    /// name, looked for along DW_AT_abstract_origin and DW_AT_specification (an inlined or
    /// out-of-line instance names nothing itself).</summary>
    private string? FunctionName(ulong entryOffset) => _names.GetOrAdd(entryOffset, ResolveName);

    private string? ResolveName(ulong entryOffset)
    {
        string? name = null;
        ulong offset = entryOffset;
        for (int step = 0; step < MaxNameChain; step++)
        {
            int index = UnitContaining(offset);
            if (index < 0 || Unit(index) is not { } unit)
                break;
            DebugEntry entry;
            try
            {
                entry = unit.ReadEntry(offset);
                if (entry.LinkageName.IsString && unit.String(entry.LinkageName) is { Length: > 0 } linkageName)
                    return Demangler.Demangle(linkageName);
                if (name is null && entry.Name.IsString && unit.String(entry.Name) is { Length: > 0 } plainName)
                    name = plainName;
            }
            catch (Exception ex) when (IsDamage(ex))
            {
                Report(_units[index], ex);
                break;
            }
            var next = entry.AbstractOrigin.Kind == ValueKind.Reference ? entry.AbstractOrigin : entry.Specification;
            if (next.Kind != ValueKind.Reference)
                break;
            offset = next.Value;
        }
        return name;
    }

    private int UnitContaining(ulong offset)
    {
        int low = 0, high = _units.Count;
        while (low < high)
        {
            int middle = low + (high - low) / 2;
            if (_units[middle].Offset <= offset)
                low = middle + 1;
            else
                high = middle;
        }
        int index = low - 1;
        return index >= 0 && _units[index].ContainsEntry(offset) ? index : -1;
    }

    private AbbreviationTable Abbreviations(ulong offset) =>
        _abbreviations.GetOrAdd(offset, o => AbbreviationTable.Read(_sections.Abbrev, o));

    /// <summary>What has been read of one unit; each part is read once, by whichever thread
    /// first needs it, and a part that cannot be read stays null.</summary>
    private sealed class UnitState(DwarfData data, int index)
    {
        private readonly Lazy<DwarfUnit?> _unit = new(() => data.Guard(index, () =>
            DwarfUnit.Read(data._sections, data._units[index], data.Abbreviations(data._units[index].AbbrevOffset))));
        private readonly Lazy<UnitScopes?> _scopes = new(() =>
            data.Unit(index) is { } unit ? data.Guard(index, () => UnitScopes.Read(unit)) : null);
        private readonly Lazy<LineTable?> _lines = new(() =>
            data.Unit(index) is { StmtList: { } offset } unit ? data.Guard(index, () => LineProgram.Read(unit, offset)) : null);

        public DwarfUnit? Unit => _unit.Value;
        public UnitScopes? Scopes => _scopes.Value;
        public LineTable? Lines => _lines.Value;
    }

    private T? Guard<T>(int index, Func<T> read) where T : class
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (IsDamage(ex))
        {
            Report(_units[index], ex);
            return null;
        }
    }

    /// <summary>What reading damaged bytes can raise: the reader's own error, and (should a check
    /// be missing somewhere) the runtime's range and overflow errors, which must then cost one
    /// unit rather than the file.</summary>
    private static bool IsDamage(Exception ex) =>
        ex is DwarfFormatException or ArgumentException or IndexOutOfRangeException or OverflowException;
}
