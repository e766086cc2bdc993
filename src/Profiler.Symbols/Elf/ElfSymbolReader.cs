using System.Buffers.Binary;

namespace Profiler.Symbols.Elf;

/// <summary>Walks .symtab and .dynsym straight out of the mapping, one entry at a time, so that
/// nothing is materialised beyond what the caller keeps.</summary>
internal static class ElfSymbolReader
{
    public static IEnumerable<ElfSymbol> Read(MappedFile file, IReadOnlyList<ElfSection> sections, bool dynamicOnly = false)
    {
        foreach (var table in SymbolTables(file, sections))
        {
            if (dynamicOnly && !table.IsDynamic)
                continue;
            for (ulong index = 1; index < table.Count; index++)
                yield return table.Entry(index).ToSymbol();
        }
    }

    public static void Visit(MappedFile file, IReadOnlyList<ElfSection> sections, RawSymbolVisitor visitor)
    {
        foreach (var table in SymbolTables(file, sections))
        {
            for (ulong index = 1; index < table.Count; index++)
                visitor(table.Entry(index));
        }
    }

    /// <summary>Upper bound of the name bytes all symbol tables can refer to.</summary>
    public static ulong NameBytes(IReadOnlyList<ElfSection> sections) =>
        sections.Where(IsSymbolTable)
            .Select(table => table.Link < sections.Count ? sections[(int)table.Link].Size : 0)
            .Aggregate(0UL, (sum, size) => sum + size);

    private static IEnumerable<Table> SymbolTables(MappedFile file, IReadOnlyList<ElfSection> sections)
    {
        foreach (var section in sections)
        {
            if (IsSymbolTable(section))
                yield return new Table(file, sections, section);
        }
    }

    private static bool IsSymbolTable(ElfSection section) =>
        section.Type is (ElfSectionType.SymTab or ElfSectionType.DynSym) && section.HasFileData;

    /// <summary>One symbol table with everything needed to decode its entries; entry 0 is the
    /// reserved null symbol, so real entries run from 1 to Count - 1.</summary>
    internal sealed class Table
    {
        private readonly MappedFile _file;
        private readonly ElfSection _symbols;
        private readonly ElfSection _names;
        private readonly ElfSection? _extendedIndices;
        private readonly ElfSymbolVersions? _versions;
        private readonly ulong _entrySize;
        private readonly bool _dynamic;

        public Table(MappedFile file, IReadOnlyList<ElfSection> sections, ElfSection symbols)
        {
            _file = file;
            _symbols = symbols;
            _names = ElfStrings.LinkedTable(file, sections, symbols);
            _entrySize = symbols.EntrySize == 0 ? ElfConstants.SymbolSize : symbols.EntrySize;
            if (_entrySize < ElfConstants.SymbolSize)
                throw new ElfFormatException(
                    $"{file.Path} is corrupt: symbol table {symbols.Name} has {_entrySize}-byte entries, expected 24");
            _dynamic = symbols.Type == ElfSectionType.DynSym;
            _versions = _dynamic ? ElfSymbolVersions.Load(file, sections, symbols) : null;
            // Sections numbered 0xff00 and up do not fit st_shndx; their index is in a side table.
            _extendedIndices = sections.FirstOrDefault(s =>
                s.Type == ElfSectionType.SymTabShndx && s.Link == (uint)symbols.Index && s.HasFileData);
            Count = symbols.Size / _entrySize;
        }

        public ulong Count { get; }

        public bool IsDynamic => _dynamic;

        public RawSymbol Entry(ulong index)
        {
            var entry = _file.Read(_symbols.Offset + index * _entrySize, ElfConstants.SymbolSize, "a symbol table entry");
            byte info = entry[4];
            uint sectionIndex = BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]);
            if (sectionIndex == ElfConstants.SectionIndexInExtendedTable && _extendedIndices is not null &&
                index * 4 + 4 <= _extendedIndices.Size)
                sectionIndex = BinaryPrimitives.ReadUInt32LittleEndian(
                    _file.Read(_extendedIndices.Offset + index * 4, 4, "an extended section index"));
            var (version, hidden) = _versions?.Of(index) ?? default;
            return new RawSymbol
            {
                Name = ElfStrings.Bytes(_file, _names, BinaryPrimitives.ReadUInt32LittleEndian(entry)),
                Value = BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]),
                Size = BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]),
                Type = (ElfSymbolType)(info & 0xf),
                Binding = (ElfSymbolBinding)(info >> 4),
                SectionIndex = sectionIndex,
                FromDynamic = _dynamic,
                Version = version,
                IsHiddenVersion = hidden,
            };
        }
    }
}
