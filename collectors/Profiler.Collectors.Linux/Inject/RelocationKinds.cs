namespace Profiler.Collectors.Linux.Inject;

/// <summary>Which relocation types fill a word with a symbol's address, per machine.</summary>
public static class RelocationKinds
{
    public const ushort X86_64 = 62;
    public const ushort AArch64 = 183;

    /// <summary>Null for every other type, and for an absolute address with an addend: that word
    /// points inside the function (or past it), never at its entry.</summary>
    public static SlotKind? Classify(ushort machine, uint type, long addend) => (machine, type) switch
    {
        (X86_64, 7) or (AArch64, 1026) => SlotKind.JumpSlot,
        (X86_64, 6) or (AArch64, 1025) => SlotKind.GlobDat,
        (X86_64, 1) or (AArch64, 257) when addend == 0 => SlotKind.DataPointer,
        _ => null,
    };
}
