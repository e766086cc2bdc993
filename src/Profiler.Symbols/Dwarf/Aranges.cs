namespace Profiler.Symbols.Dwarf;

/// <summary>Reads .debug_aranges: for each compilation unit that has a set, the address ranges
/// of its code, which finds a unit for an address without reading the unit.</summary>
internal static class Aranges
{
    /// <summary>Adds (range, unit offset) pairs. A damaged set ends the walk: the units it would
    /// have covered are then found through their own entries instead.</summary>
    public static void Read(DwarfSection section, List<(AddressRange Range, ulong UnitOffset)> into, HashSet<ulong> coveredUnits)
    {
        ulong offset = 0;
        try
        {
            while (offset < (ulong)section.Length)
                offset = ReadSet(section, offset, into, coveredUnits);
        }
        catch (DwarfFormatException)
        {
        }
    }

    private static ulong ReadSet(DwarfSection section, ulong offset, List<(AddressRange, ulong)> into, HashSet<ulong> coveredUnits)
    {
        var cursor = section.Cursor(offset);
        ulong length = cursor.U32();
        bool is64 = length == 0xffff_ffff;
        if (is64)
            length = cursor.U64();
        if (length > (ulong)cursor.Length - cursor.Position)
            throw new DwarfFormatException("address range set runs past the end of .debug_aranges");
        ulong end = cursor.Position + length;
        cursor.U16(); // version 2
        ulong unitOffset = cursor.Offset(is64);
        int addressSize = cursor.U8();
        int segmentSize = cursor.U8();
        if (addressSize is not (4 or 8))
            throw new DwarfFormatException($"address size {addressSize} in .debug_aranges");
        // Tuples start at a multiple of twice the address size from the set's start.
        ulong tupleSize = 2UL * (ulong)addressSize;
        ulong fromStart = cursor.Position - offset;
        cursor.Position += (tupleSize - fromStart % tupleSize) % tupleSize;
        bool any = false;
        while (cursor.Position + tupleSize + (ulong)segmentSize <= end)
        {
            cursor.Skip((ulong)segmentSize);
            ulong start = cursor.Address(addressSize);
            ulong size = cursor.Address(addressSize);
            if (start == 0 && size == 0)
                break;
            if (AddressRange.IsUsable(start, start + size))
                into.Add((new AddressRange(start, start + size), unitOffset));
            any = true;
        }
        if (any)
            coveredUnits.Add(unitOffset);
        return end;
    }
}
