using Profiler.Symbols.Dwarf;
using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Unwinding;

/// <summary>
/// The call frame information of one ELF file: .eh_frame (found through .eh_frame_hdr's search
/// table when present, else through an index built once), then .debug_frame for addresses
/// .eh_frame does not cover. The sections are copied out of the file, so the tables outlive it.
/// Rows already computed are kept in a small direct-mapped cache keyed by address: stacks repeat
/// the same return addresses, and a hit costs a multiply and a compare.
/// Not thread-safe (the row cache is updated on lookup).
/// </summary>
public sealed class UnwindTables
{
    /// <summary>Rows cached per module by default (about 180 bytes each, allocated on first use).</summary>
    public const int DefaultRowCacheSize = 1024;

    private readonly CfiSection? _ehFrame;
    private readonly EhFrameHeader? _header;
    private readonly FdeIndex? _ehFrameIndex;
    private readonly CfiSection? _debugFrame;
    private readonly FdeIndex? _debugFrameIndex;
    private readonly PltSection[] _plts;
    private readonly ElfSegment[] _segments;
    private readonly RowCache? _rows;

    private UnwindTables(CfiSection? ehFrame, byte[]? header, ulong headerAddress, CfiSection? debugFrame,
        PltSection[] plts, ElfSegment[] segments, int rowCacheSize)
    {
        _ehFrame = ehFrame;
        _header = ehFrame is not null && header is not null ? EhFrameHeader.TryParse(header, headerAddress) : null;
        _ehFrameIndex = ehFrame is not null && _header is null ? FdeIndex.Build(ehFrame) : null;
        _debugFrame = debugFrame;
        _debugFrameIndex = debugFrame is not null ? FdeIndex.Build(debugFrame) : null;
        _plts = plts;
        _segments = segments;
        _rows = rowCacheSize > 0 ? new RowCache(rowCacheSize) : null;
    }

    /// <summary>True when the file has .eh_frame or .debug_frame entries.</summary>
    public bool HasCallFrameInfo => _ehFrame is not null || _debugFrameIndex is { Count: > 0 };

    /// <summary>Which lookup structure .eh_frame uses: the linker's table or our own index.</summary>
    public bool UsesEhFrameHeader => _header is not null;

    /// <summary>Reads the CFI sections of <paramref name="elf"/>. A section that cannot be read
    /// (corrupt, or compressed in an unsupported way) is left out rather than failing the file.</summary>
    public static UnwindTables Load(ElfFile elf, int rowCacheSize = DefaultRowCacheSize)
    {
        var text = elf.FindSection(".text");
        var got = elf.FindSection(".got");
        var bases = new PointerBases(Text: text?.Address ?? 0, Data: got?.Address ?? 0);
        CfiSection? ehFrame = null;
        byte[]? header = null;
        ulong headerAddress = 0;
        if (elf.FindSection(".eh_frame") is { Size: > 0 } eh && Copy(elf, eh) is { } ehBytes)
        {
            ehFrame = new CfiSection(CfiSectionKind.EhFrame, ehBytes, eh.Address, bases);
            if (elf.FindSection(".eh_frame_hdr") is { Size: > 0 } hdr && Copy(elf, hdr) is { } hdrBytes)
                (header, headerAddress) = (hdrBytes, hdr.Address);
        }
        CfiSection? debugFrame = null;
        if ((elf.FindSection(".debug_frame") ?? elf.FindSection(".zdebug_frame")) is { Size: > 0 } debug &&
            Copy(elf, debug) is { } debugBytes)
            debugFrame = new CfiSection(CfiSectionKind.DebugFrame, debugBytes, address: 0, bases);
        return new UnwindTables(ehFrame, header, headerAddress, debugFrame, PltSection.Find(elf),
            [.. elf.LoadSegments], rowCacheSize);
    }

    /// <summary>Tables over a raw .eh_frame (and optionally .eh_frame_hdr) loaded at the given
    /// link-time addresses: for tools and tests that have the bytes but no file.</summary>
    public static UnwindTables FromEhFrame(byte[] ehFrame, ulong address, byte[]? header = null, ulong headerAddress = 0,
        int rowCacheSize = DefaultRowCacheSize) =>
        new(new CfiSection(CfiSectionKind.EhFrame, ehFrame, address, new PointerBases(0, 0)), header, headerAddress,
            debugFrame: null, [], [], rowCacheSize);

    /// <summary>Tables over a raw .debug_frame.</summary>
    public static UnwindTables FromDebugFrame(byte[] debugFrame, int rowCacheSize = DefaultRowCacheSize) =>
        new(ehFrame: null, header: null, 0,
            new CfiSection(CfiSectionKind.DebugFrame, debugFrame, 0, new PointerBases(0, 0)), [], [], rowCacheSize);

    /// <summary>The unwind row in force at link-time address <paramref name="address"/>. For a return
    /// address, pass the address minus one: the call may be the function's last instruction.</summary>
    public bool TryFindRow(ulong address, out UnwindRow row)
    {
        if (_rows is not null && _rows.TryGet(address, out bool found, out row))
            return found;
        found = TryComputeRow(address, out row);
        _rows?.Add(address, found, row);
        return found;
    }

    /// <summary>The DWARF expression a rule of <paramref name="row"/> refers to (its bytes, without
    /// the length prefix).</summary>
    public ReadOnlySpan<byte> Expression(in UnwindRow row, int position)
    {
        var section = row.Section == CfiSectionKind.EhFrame ? _ehFrame : _debugFrame;
        if (section is null)
            return [];
        try
        {
            var reader = new DwarfCursor(section.Data, (ulong)position);
            return reader.Take(reader.Uleb());
        }
        catch (DwarfFormatException)
        {
            return [];
        }
    }

    /// <summary>How far this file's link-time addresses are shifted in a mapping that starts at
    /// <paramref name="mappingStart"/> with file offset <paramref name="fileOffset"/>: the executable
    /// PT_LOAD segment whose pages the mapping covers decides.</summary>
    internal bool TryGetLoadBias(ulong mappingStart, ulong fileOffset, out ulong bias)
    {
        const ulong pageMask = 0xfff;
        foreach (bool executableOnly in (ReadOnlySpan<bool>)[true, false])
        {
            foreach (var segment in _segments)
            {
                if (executableOnly && (segment.Flags & ElfSegmentFlags.Execute) == 0)
                    continue;
                if ((segment.FileOffset & ~pageMask) <= fileOffset && fileOffset < segment.FileOffset + segment.FileSize)
                {
                    ulong addressAtStart = segment.VirtualAddress - segment.FileOffset + fileOffset;
                    bias = mappingStart - addressAtStart;
                    return true;
                }
            }
        }
        bias = 0;
        return false;
    }

    /// <summary>A row for a PLT stub, which linkers such as lld emit without CFI. Stubs never call,
    /// so this is only right for the innermost frame.</summary>
    internal bool TryFindPltRow(ulong address, out UnwindRow row)
    {
        foreach (var plt in _plts)
        {
            if (plt.TryGetCfaOffset(address, out int cfaOffset))
            {
                row = UnwindRow.Synthetic(DwarfRegister.Rsp, cfaOffset, savedFramePointer: false);
                return true;
            }
        }
        row = default;
        return false;
    }

    private static byte[]? Copy(ElfFile elf, ElfSection section)
    {
        try
        {
            return elf.ReadSection(section).ToArray();
        }
        catch (Exception ex) when (ex is ElfFormatException or InvalidDataException or IOException)
        {
            return null;
        }
    }

    private bool TryComputeRow(ulong address, out UnwindRow row)
    {
        row = default;
        try
        {
            if (_ehFrame is not null && TryFindFde(_ehFrame, _header, _ehFrameIndex, address, out var fde))
            {
                row = CfaProgram.RowAt(_ehFrame, fde, address);
                return row.Cfa.Kind != CfaRuleKind.Undefined;
            }
            if (_debugFrame is not null && TryFindFde(_debugFrame, null, _debugFrameIndex, address, out fde))
            {
                row = CfaProgram.RowAt(_debugFrame, fde, address);
                return row.Cfa.Kind != CfaRuleKind.Undefined;
            }
        }
        catch (DwarfFormatException)
        {
            row = default;
        }
        return false;
    }

    private static bool TryFindFde(CfiSection section, EhFrameHeader? header, FdeIndex? index, ulong address,
        out FrameDescriptionEntry fde)
    {
        fde = default;
        int offset;
        if (header is not null)
        {
            if (!header.TryFind(address, out ulong fdeAddress))
                return false;
            ulong relative = fdeAddress - section.Address;
            if (relative >= (ulong)section.Data.Length)
                return false;
            offset = (int)relative;
        }
        else if (index is null || !index.TryFind(address, out offset))
        {
            return false;
        }
        return section.TryReadFde(offset, out fde) && fde.Contains(address);
    }
}
