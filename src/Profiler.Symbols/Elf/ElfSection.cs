namespace Profiler.Symbols.Elf;

/// <summary>One section header. <see cref="Size"/> is the size in the file, which for a
/// compressed section is smaller than what <see cref="ElfFile.ReadSection"/> returns.</summary>
public sealed record ElfSection(
    int Index,
    string Name,
    ElfSectionType Type,
    ElfSectionFlags Flags,
    ulong Address,
    ulong Offset,
    ulong Size,
    uint Link,
    uint Info,
    ulong Alignment,
    ulong EntrySize)
{
    public bool IsCompressed => (Flags & ElfSectionFlags.Compressed) != 0;

    /// <summary>False for sections that occupy no bytes of the file (.bss, and every
    /// allocated section of a separate debug file).</summary>
    public bool HasFileData => Type is not (ElfSectionType.NoBits or ElfSectionType.Null);

    public bool ContainsAddress(ulong address) =>
        (Flags & ElfSectionFlags.Alloc) != 0 && address >= Address && address - Address < Size;
}
