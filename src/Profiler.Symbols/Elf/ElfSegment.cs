namespace Profiler.Symbols.Elf;

/// <summary>One PT_LOAD program header: the bytes [FileOffset, FileOffset + FileSize) are mapped at
/// VirtualAddress (plus the load bias); the rest of MemorySize is zero-filled.</summary>
public sealed record ElfSegment(
    ulong VirtualAddress,
    ulong FileOffset,
    ulong FileSize,
    ulong MemorySize,
    ElfSegmentFlags Flags,
    ulong Alignment);
