namespace Profiler.Symbols.Dwarf;

/// <summary>One compilation unit with its root entry read: the bases that indexed strings,
/// addresses and range lists are relative to, its directory and its line table offset.</summary>
internal sealed class DwarfUnit
{
    private readonly DwarfSections _sections;
    private readonly ulong _strOffsetsBase;
    private readonly ulong _addrBase;
    private readonly ulong _rngListsBase;

    private DwarfUnit(DwarfSections sections, UnitHeader header, AbbreviationTable abbreviations, DebugEntry root)
    {
        _sections = sections;
        Header = header;
        Context = FormContext.Of(header);
        Abbreviations = abbreviations;
        Root = root;
        // Without explicit bases, the tables start right after their headers (8 or 16 bytes for
        // string offsets and addresses, 12 or 20 for range lists), as in split units.
        _strOffsetsBase = root.StrOffsetsBase.AsOffset ?? (ulong)(header.Is64 ? 16 : 8);
        _addrBase = root.AddrBase.AsOffset ?? (ulong)(header.Is64 ? 16 : 8);
        _rngListsBase = root.RngListsBase.AsOffset ?? (ulong)(header.Is64 ? 20 : 12);
        BaseAddress = Address(root.LowPc) ?? 0;
        CompDir = root.CompDir.IsString ? String(root.CompDir) : null;
        StmtList = root.StmtList.AsOffset;
    }

    public UnitHeader Header { get; }

    public FormContext Context { get; }

    public AbbreviationTable Abbreviations { get; }

    public DebugEntry Root { get; }

    /// <summary>The root's low_pc: what DWARF 4 range lists and DWARF 5 offset pairs add to.</summary>
    public ulong BaseAddress { get; }

    public string? CompDir { get; }

    /// <summary>Offset of the unit's line program in .debug_line, if it has one.</summary>
    public ulong? StmtList { get; }

    public DwarfSections Sections => _sections;

    public static DwarfUnit Read(DwarfSections sections, UnitHeader header, AbbreviationTable abbreviations)
    {
        var cursor = sections.Info.Cursor(header.FirstEntry);
        var context = FormContext.Of(header);
        DebugEntry.Read(ref cursor, context, abbreviations, out var root);
        return new DwarfUnit(sections, header, abbreviations, root);
    }

    /// <summary>Reads the entry at <paramref name="offset"/>, which must lie in this unit.</summary>
    public DebugEntry ReadEntry(ulong offset)
    {
        if (!Header.ContainsEntry(offset))
            throw new DwarfFormatException($"entry offset 0x{offset:x} lies outside its unit");
        var cursor = _sections.Info.Cursor(offset);
        return DebugEntry.Read(ref cursor, Context, Abbreviations, out var entry) ? entry
            : throw new DwarfFormatException($"entry at 0x{offset:x} is a null entry");
    }

    public string? String(AttributeValue value) => value.Kind switch
    {
        ValueKind.InlineString => _sections.Info.ReadString(value.Value),
        ValueKind.Strp => _sections.Str.ReadString(value.Value),
        ValueKind.LineStrp => _sections.LineStr.ReadString(value.Value),
        ValueKind.StrIndex => _sections.Str.ReadString(
            ReadOffsetAt(_sections.StrOffsets, _strOffsetsBase, value.Value, Header.Is64)),
        _ => null,
    };

    public ulong? Address(AttributeValue value) => value.Kind switch
    {
        ValueKind.Address => value.Value,
        ValueKind.AddressIndex => ReadAddressAt(value.Value),
        _ => null,
    };

    /// <summary>Adds the code ranges of <paramref name="entry"/> (low_pc/high_pc or DW_AT_ranges),
    /// leaving out ranges of discarded code.</summary>
    public void AddRanges(in DebugEntry entry, List<AddressRange> into)
    {
        if (entry.Ranges.IsPresent)
        {
            if (Header.Version >= 5)
                AddRangeListV5(entry.Ranges, into);
            else if (entry.Ranges.AsOffset is { } offset)
                AddRangeListV4(offset, into);
            return;
        }
        if (Address(entry.LowPc) is not { } low)
            return;
        ulong? high = entry.HighPc.Kind == ValueKind.Constant ? low + entry.HighPc.Value : Address(entry.HighPc);
        if (high is { } end && AddressRange.IsUsable(low, end))
            into.Add(new AddressRange(low, end));
    }

    private ulong ReadAddressAt(ulong index)
    {
        ulong size = (ulong)Header.AddressSize;
        if (index > (ulong)_sections.Addr.Length / size)
            throw new DwarfFormatException($"address index {index} lies outside .debug_addr");
        var cursor = _sections.Addr.Cursor(_addrBase + index * size);
        return cursor.Address(Header.AddressSize);
    }

    private static ulong ReadOffsetAt(DwarfSection table, ulong tableBase, ulong index, bool is64)
    {
        ulong size = is64 ? 8UL : 4UL;
        if (index > (ulong)table.Length / size)
            throw new DwarfFormatException($"index {index} lies outside {table.Name}");
        var cursor = table.Cursor(tableBase + index * size);
        return cursor.Offset(is64);
    }

    private void AddRangeListV4(ulong offset, List<AddressRange> into)
    {
        var cursor = _sections.Ranges.Cursor(offset);
        int size = Header.AddressSize;
        ulong selection = size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;
        ulong baseAddress = BaseAddress;
        while (true)
        {
            ulong start = cursor.Address(size);
            ulong end = cursor.Address(size);
            if (start == 0 && end == 0)
                return;
            if (start == selection)
                baseAddress = end;
            else
                AddIfUsable(into, baseAddress + start, baseAddress + end);
        }
    }

    private void AddRangeListV5(AttributeValue ranges, List<AddressRange> into)
    {
        ulong offset = ranges.Kind == ValueKind.RngListIndex
            ? _rngListsBase + ReadOffsetAt(_sections.RngLists, _rngListsBase, ranges.Value, Header.Is64)
            : ranges.AsOffset ?? throw new DwarfFormatException("DW_AT_ranges has an unexpected form");
        var cursor = _sections.RngLists.Cursor(offset);
        int size = Header.AddressSize;
        ulong baseAddress = BaseAddress;
        while (true)
        {
            byte kind = cursor.U8();
            switch (kind)
            {
                case DwRle.EndOfList:
                    return;
                case DwRle.BaseAddressx:
                    baseAddress = ReadAddressAt(cursor.Uleb());
                    break;
                case DwRle.StartxEndx:
                {
                    ulong start = ReadAddressAt(cursor.Uleb());
                    AddIfUsable(into, start, ReadAddressAt(cursor.Uleb()));
                    break;
                }
                case DwRle.StartxLength:
                {
                    ulong start = ReadAddressAt(cursor.Uleb());
                    AddIfUsable(into, start, start + cursor.Uleb());
                    break;
                }
                case DwRle.OffsetPair:
                {
                    ulong start = cursor.Uleb();
                    AddIfUsable(into, baseAddress + start, baseAddress + cursor.Uleb());
                    break;
                }
                case DwRle.BaseAddress:
                    baseAddress = cursor.Address(size);
                    break;
                case DwRle.StartEnd:
                {
                    ulong start = cursor.Address(size);
                    AddIfUsable(into, start, cursor.Address(size));
                    break;
                }
                case DwRle.StartLength:
                {
                    ulong start = cursor.Address(size);
                    AddIfUsable(into, start, start + cursor.Uleb());
                    break;
                }
                default:
                    throw new DwarfFormatException($"unknown range list entry kind {kind}");
            }
        }
    }

    private static void AddIfUsable(List<AddressRange> into, ulong start, ulong end)
    {
        if (AddressRange.IsUsable(start, end))
            into.Add(new AddressRange(start, end));
    }
}
