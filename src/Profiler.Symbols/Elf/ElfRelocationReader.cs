using System.Buffers.Binary;

namespace Profiler.Symbols.Elf;

/// <summary>Reads the SHT_RELA sections the dynamic linker applies (allocated, linked to .dynsym).
/// Only relocations that name a symbol are returned: R_X86_64_RELATIVE and its kin, often the
/// great majority, say nothing about which function a word points at. SHT_REL (used by 32-bit
/// targets only) and RELR (symbol-less by design) are not read.</summary>
internal static class ElfRelocationReader
{
    private const int EntrySize = 24;

    public static IEnumerable<ElfRelocation> Read(MappedFile file, IReadOnlyList<ElfSection> sections)
    {
        foreach (var section in sections)
        {
            if (section.Type != ElfSectionType.Rela || !section.HasFileData || (section.Flags & ElfSectionFlags.Alloc) == 0)
                continue;
            if (section.Link >= sections.Count || sections[(int)section.Link] is not { Type: ElfSectionType.DynSym } dynsym)
                continue;
            ulong entrySize = section.EntrySize == 0 ? EntrySize : section.EntrySize;
            if (entrySize < EntrySize)
                throw new ElfFormatException(
                    $"{file.Path} is corrupt: relocation section {section.Name} has {entrySize}-byte entries, expected 24");
            var symbols = new ElfSymbolReader.Table(file, sections, dynsym);
            ulong count = section.Size / entrySize;
            for (ulong index = 0; index < count; index++)
            {
                var entry = file.Read(section.Offset + index * entrySize, EntrySize, "a relocation entry");
                ulong info = BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]);
                ulong symbol = info >> 32;
                if (symbol == 0)
                    continue;
                if (symbol >= symbols.Count)
                    throw new ElfFormatException(
                        $"{file.Path} is corrupt: relocation {index} of {section.Name} names symbol {symbol}, " +
                        $"but {dynsym.Name} has {symbols.Count}");
                yield return new ElfRelocation(
                    Offset: BinaryPrimitives.ReadUInt64LittleEndian(entry),
                    Type: (uint)info,
                    Addend: BinaryPrimitives.ReadInt64LittleEndian(entry[16..]),
                    Symbol: symbols.Entry(symbol).ToSymbol(),
                    Section: section.Name);
            }
        }
    }
}
