using System.Buffers.Binary;

namespace Profiler.Symbols.Elf;

/// <summary>Reads the section header table, then names the sections from the section name table
/// and checks that each one's bytes lie inside the file.</summary>
internal static class ElfSectionHeaders
{
    /// <summary>Section headers without names. Header 0 doubles as the overflow slot for counts
    /// that do not fit the ELF header's 16-bit fields, so those are handed back too.</summary>
    public static List<UnnamedSection> Read(MappedFile file, ulong offset, ushort entrySize,
        ushort headerCount, out uint extendedProgramHeaderCount, out uint extendedNamesIndex)
    {
        var sections = new List<UnnamedSection>();
        extendedProgramHeaderCount = 0;
        extendedNamesIndex = 0;
        if (offset == 0)
            return sections;
        if (entrySize < ElfConstants.SectionHeaderSize)
            throw new ElfFormatException($"{file.Path} is corrupt: section headers are {entrySize} bytes, expected 64");

        var first = ParseSectionHeader(file.Read(offset, entrySize, "the section header table"), 0).Section;
        extendedProgramHeaderCount = first.Info;
        extendedNamesIndex = first.Link;
        ulong count = headerCount == 0 ? first.Size : headerCount;
        if (count > file.Length / entrySize)
            throw new ElfFormatException($"{file.Path} is truncated or corrupt: it claims {count} section headers");

        var table = file.Read(offset, count * entrySize, "the section header table");
        for (int i = 0; i < (int)count; i++)
            sections.Add(ParseSectionHeader(table.Slice(i * entrySize, ElfConstants.SectionHeaderSize), i));
        return sections;
    }

    private static UnnamedSection ParseSectionHeader(ReadOnlySpan<byte> entry, int index) => new(new ElfSection(
        Index: index,
        Name: "",
        Type: (ElfSectionType)BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]),
        Flags: (ElfSectionFlags)BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]),
        Address: BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]),
        Offset: BinaryPrimitives.ReadUInt64LittleEndian(entry[24..]),
        Size: BinaryPrimitives.ReadUInt64LittleEndian(entry[32..]),
        Link: BinaryPrimitives.ReadUInt32LittleEndian(entry[40..]),
        Info: BinaryPrimitives.ReadUInt32LittleEndian(entry[44..]),
        Alignment: BinaryPrimitives.ReadUInt64LittleEndian(entry[48..]),
        EntrySize: BinaryPrimitives.ReadUInt64LittleEndian(entry[56..])),
        NameOffset: BinaryPrimitives.ReadUInt32LittleEndian(entry));

    public static List<ElfSection> Name(MappedFile file, List<UnnamedSection> unnamed, uint namesIndex)
    {
        ElfSection? names = namesIndex != 0 && namesIndex < unnamed.Count ? unnamed[(int)namesIndex].Section : null;
        var sections = unnamed.ConvertAll(u =>
            names is null ? u.Section : u.Section with { Name = ElfStrings.Read(file, names, u.NameOffset) });
        foreach (var section in sections)
        {
            if (section.HasFileData && !file.Contains(section.Offset, section.Size))
                throw new ElfFormatException(
                    $"{file.Path} is truncated or corrupt: section [{section.Index}] {section.Name} (0x{section.Size:x} " +
                    $"bytes at offset 0x{section.Offset:x}) extends past the end of the file (0x{file.Length:x} bytes)");
        }
        return sections;
    }

    public readonly record struct UnnamedSection(ElfSection Section, uint NameOffset);
}
