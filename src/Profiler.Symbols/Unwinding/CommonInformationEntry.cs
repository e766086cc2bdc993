namespace Profiler.Symbols.Unwinding;

/// <summary>A parsed CIE: what its FDEs share. Instructions are kept as a range of the section.</summary>
internal sealed class CommonInformationEntry
{
    public required int Offset { get; init; }
    public required byte Version { get; init; }
    public required ulong CodeAlignment { get; init; }
    public required long DataAlignment { get; init; }
    public required ulong ReturnAddressRegister { get; init; }
    /// <summary>How the FDEs' pc_begin and pc_range are stored.</summary>
    public required byte FdeEncoding { get; init; }
    /// <summary>The "z" augmentation: every FDE carries a length-prefixed augmentation block.</summary>
    public required bool HasAugmentationData { get; init; }
    public required bool IsSignalFrame { get; init; }
    public required int InstructionsStart { get; init; }
    public required int InstructionsEnd { get; init; }

    /// <summary>The row the CIE's initial instructions produce; DW_CFA_restore goes back to it.
    /// Computed on first use.</summary>
    public UnwindRow? InitialRow { get; set; }
}

/// <summary>A parsed FDE: the code range it covers and its CFA program.</summary>
internal readonly record struct FrameDescriptionEntry(
    CommonInformationEntry Cie, ulong PcBegin, ulong PcEnd, int InstructionsStart, int InstructionsEnd)
{
    public bool Contains(ulong address) => address >= PcBegin && address < PcEnd;
}
