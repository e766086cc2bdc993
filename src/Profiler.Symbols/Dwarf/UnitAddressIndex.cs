namespace Profiler.Symbols.Dwarf;

/// <summary>Which compilation units hold code at an address. Built from .debug_aranges where it
/// covers a unit, otherwise from the unit's root entry (low_pc/high_pc or DW_AT_ranges), and
/// for units whose root gives no ranges, from their functions.</summary>
internal sealed class UnitAddressIndex
{
    private readonly (AddressRange Range, int Unit)[] _entries;
    private readonly ulong[] _reach;

    private UnitAddressIndex(List<(AddressRange Range, int Unit)> entries)
    {
        entries.Sort((a, b) => a.Range.Start.CompareTo(b.Range.Start));
        _entries = [.. entries];
        _reach = new ulong[_entries.Length];
        for (int i = 0; i < _entries.Length; i++)
            _reach[i] = i == 0 ? _entries[i].Range.End : Math.Max(_reach[i - 1], _entries[i].Range.End);
    }

    public int Count => _entries.Length;

    public static UnitAddressIndex Build(DwarfData data, DwarfSections sections, IReadOnlyList<UnitHeader> units)
    {
        var fromAranges = new List<(AddressRange Range, ulong UnitOffset)>();
        var covered = new HashSet<ulong>();
        Aranges.Read(sections.Aranges, fromAranges, covered);
        var unitByOffset = new Dictionary<ulong, int>(units.Count);
        for (int i = 0; i < units.Count; i++)
            unitByOffset[units[i].Offset] = i;

        var entries = new List<(AddressRange, int)>();
        foreach (var (range, unitOffset) in fromAranges)
        {
            if (unitByOffset.TryGetValue(unitOffset, out int unit))
                entries.Add((range, unit));
        }
        var ranges = new List<AddressRange>();
        for (int i = 0; i < units.Count; i++)
        {
            if (!units[i].DescribesCode || covered.Contains(units[i].Offset) || data.Unit(i) is not { } unit)
                continue;
            ranges.Clear();
            try
            {
                unit.AddRanges(unit.Root, ranges);
            }
            catch (DwarfFormatException ex)
            {
                data.Report(units[i], ex);
            }
            if (ranges.Count == 0 && data.Scopes(i) is { } scopes)
                ranges.AddRange(scopes.FunctionRanges);
            foreach (var range in ranges)
                entries.Add((range, i));
        }
        return new UnitAddressIndex(entries);
    }

    /// <summary>The units with code at <paramref name="address"/>, the one whose range starts
    /// nearest below it first (units should not overlap, but damaged or odd files do).</summary>
    public void UnitsAt(ulong address, List<int> units)
    {
        units.Clear();
        int low = 0, high = _entries.Length;
        while (low < high)
        {
            int middle = low + (high - low) / 2;
            if (_entries[middle].Range.Start <= address)
                low = middle + 1;
            else
                high = middle;
        }
        for (int i = low - 1; i >= 0 && _reach[i] > address; i--)
        {
            if (_entries[i].Range.Contains(address) && !units.Contains(_entries[i].Unit))
                units.Add(_entries[i].Unit);
        }
    }
}
