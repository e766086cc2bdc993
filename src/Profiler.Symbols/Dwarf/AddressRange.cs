namespace Profiler.Symbols.Dwarf;

/// <summary>The half-open address range [Start, End).</summary>
internal readonly record struct AddressRange(ulong Start, ulong End)
{
    /// <summary>Linkers leave the ranges of code they discarded (duplicate inline functions,
    /// unused sections) at address 0 or at an all-ones tombstone; such ranges name nothing real
    /// and would only shadow real code, so they are dropped.</summary>
    public static bool IsUsable(ulong start, ulong end) => end > start && start != 0 && start < 0xffff_ffff_ffff_fff0;

    public bool Contains(ulong address) => address >= Start && address < End;
}
