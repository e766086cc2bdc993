namespace Profiler.Symbols.Dwarf;

/// <summary>The header of one unit in .debug_info: where it lies, how to read its entries.</summary>
internal sealed record UnitHeader(
    ulong Offset,
    ulong End,
    ulong FirstEntry,
    ushort Version,
    byte UnitType,
    int AddressSize,
    bool Is64,
    ulong AbbrevOffset)
{
    public int OffsetSize => Is64 ? 8 : 4;

    /// <summary>Units that describe code: full, partial and skeleton compilation units, not type units.</summary>
    public bool DescribesCode => UnitType is DwUt.Compile or DwUt.Partial or DwUt.Skeleton;

    public bool ContainsEntry(ulong offset) => offset >= FirstEntry && offset < End;

    /// <summary>Every unit header in order. A header that cannot be read ends the walk (the next
    /// one cannot be found without it); <paramref name="problem"/> then says why.</summary>
    public static List<UnitHeader> ReadAll(DwarfSection info, out string? problem)
    {
        var units = new List<UnitHeader>();
        problem = null;
        ulong offset = 0;
        try
        {
            while (offset < (ulong)info.Length)
            {
                var unit = Read(info, offset);
                units.Add(unit);
                offset = unit.End;
            }
        }
        catch (DwarfFormatException ex)
        {
            problem = $"unit at .debug_info offset 0x{offset:x}: {ex.Message}";
        }
        return units;
    }

    private static UnitHeader Read(DwarfSection info, ulong offset)
    {
        var cursor = info.Cursor(offset);
        ulong length = cursor.U32();
        bool is64 = length == 0xffff_ffff;
        if (is64)
            length = cursor.U64();
        else if (length >= 0xffff_fff0)
            throw new DwarfFormatException($"reserved unit length 0x{length:x}");
        ulong start = cursor.Position;
        if (length > (ulong)cursor.Length - start)
            throw new DwarfFormatException($"unit length 0x{length:x} runs past the end of the section");
        ulong end = start + length;
        ushort version = cursor.U16();
        byte unitType = DwUt.Compile;
        int addressSize;
        ulong abbrevOffset;
        if (version >= 5)
        {
            unitType = cursor.U8();
            addressSize = cursor.U8();
            abbrevOffset = cursor.Offset(is64);
            if (unitType is DwUt.Skeleton or DwUt.SplitCompile)
                cursor.Skip(8);
            else if (unitType is DwUt.Type or DwUt.SplitType)
                cursor.Skip(8 + (ulong)(is64 ? 8 : 4));
        }
        else if (version >= 2)
        {
            abbrevOffset = cursor.Offset(is64);
            addressSize = cursor.U8();
        }
        else
        {
            throw new DwarfFormatException($"DWARF version {version} is not supported");
        }
        if (version > 5)
            throw new DwarfFormatException($"DWARF version {version} is not supported");
        if (addressSize is not (1 or 2 or 4 or 8))
            throw new DwarfFormatException($"address size {addressSize} is not supported");
        if (cursor.Position > end)
            throw new DwarfFormatException("the unit header is longer than the unit");
        return new UnitHeader(offset, end, cursor.Position, version, unitType, addressSize, is64, abbrevOffset);
    }
}
