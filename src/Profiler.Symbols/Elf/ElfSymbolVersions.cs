using System.Buffers.Binary;

namespace Profiler.Symbols.Elf;

/// <summary>GNU symbol versioning for .dynsym: .gnu.version holds one 16-bit version index per
/// symbol, and .gnu.version_d / .gnu.version_r map indices to names such as "GLIBC_2.2.5".</summary>
internal sealed class ElfSymbolVersions
{
    private readonly MappedFile _file;
    private readonly ElfSection _indices;
    private readonly Dictionary<ushort, string> _names;

    private ElfSymbolVersions(MappedFile file, ElfSection indices, Dictionary<ushort, string> names)
    {
        _file = file;
        _indices = indices;
        _names = names;
    }

    /// <summary>Null when the file is unversioned, and also when its version tables are damaged:
    /// versions only annotate symbols, so they must not make the symbols themselves unreadable.</summary>
    public static ElfSymbolVersions? Load(MappedFile file, IReadOnlyList<ElfSection> sections, ElfSection dynsym)
    {
        var indices = sections.FirstOrDefault(s =>
            s.Type == ElfSectionType.GnuVerSym && s.Link == (uint)dynsym.Index && s.HasFileData);
        if (indices is null)
            return null;
        var names = new Dictionary<ushort, string>();
        try
        {
            foreach (var section in sections)
            {
                if (section.Type == ElfSectionType.GnuVerDef && section.HasFileData)
                    ReadDefinitions(file, sections, section, names);
                else if (section.Type == ElfSectionType.GnuVerNeed && section.HasFileData)
                    ReadRequirements(file, sections, section, names);
            }
        }
        catch (ElfFormatException)
        {
            return null;
        }
        return new ElfSymbolVersions(file, indices, names);
    }

    public (string? Version, bool Hidden) Of(ulong symbolIndex)
    {
        if (symbolIndex * 2 + 2 > _indices.Size)
            return default;
        ushort raw = BinaryPrimitives.ReadUInt16LittleEndian(
            _file.Read(_indices.Offset + symbolIndex * 2, 2, "a symbol version index"));
        ushort index = (ushort)(raw & ~ElfConstants.VersionHiddenBit);
        if (index is ElfConstants.VersionLocal or ElfConstants.VersionGlobal ||
            !_names.TryGetValue(index, out var name))
            return default;
        return (name, (raw & ElfConstants.VersionHiddenBit) != 0);
    }

    /// <summary>Elf64_Verdef chain; each definition's first Elf64_Verdaux carries its name.</summary>
    private static void ReadDefinitions(MappedFile file, IReadOnlyList<ElfSection> sections, ElfSection section,
        Dictionary<ushort, string> names)
    {
        var strings = ElfStrings.LinkedTable(file, sections, section);
        var data = file.Read(section.Offset, section.Size, "a version definition section");
        long offset = 0;
        for (int entry = 0; entry < MaxEntries(section, data); entry++)
        {
            var definition = Slice(file, data, offset, 20);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(definition[2..]);
            ushort index = BinaryPrimitives.ReadUInt16LittleEndian(definition[4..]);
            uint auxiliary = BinaryPrimitives.ReadUInt32LittleEndian(definition[12..]);
            uint next = BinaryPrimitives.ReadUInt32LittleEndian(definition[16..]);
            if ((flags & ElfConstants.VersionDefinitionIsFileItself) == 0)
            {
                var nameEntry = Slice(file, data, offset + auxiliary, 8);
                names[index] = ElfStrings.Read(file, strings, BinaryPrimitives.ReadUInt32LittleEndian(nameEntry));
            }
            if (next == 0)
                break;
            offset += next;
        }
    }

    /// <summary>Elf64_Verneed chain (one per needed library), each with Elf64_Vernaux entries that
    /// give the version index used in .gnu.version (vna_other) and its name.</summary>
    private static void ReadRequirements(MappedFile file, IReadOnlyList<ElfSection> sections, ElfSection section,
        Dictionary<ushort, string> names)
    {
        var strings = ElfStrings.LinkedTable(file, sections, section);
        var data = file.Read(section.Offset, section.Size, "a version requirement section");
        long offset = 0;
        for (int entry = 0; entry < MaxEntries(section, data); entry++)
        {
            var requirement = Slice(file, data, offset, 16);
            ushort count = BinaryPrimitives.ReadUInt16LittleEndian(requirement[2..]);
            long auxiliary = offset + BinaryPrimitives.ReadUInt32LittleEndian(requirement[8..]);
            for (int i = 0; i < count; i++)
            {
                var version = Slice(file, data, auxiliary, 16);
                ushort index = BinaryPrimitives.ReadUInt16LittleEndian(version[6..]);
                names[index] = ElfStrings.Read(file, strings, BinaryPrimitives.ReadUInt32LittleEndian(version[8..]));
                uint nextVersion = BinaryPrimitives.ReadUInt32LittleEndian(version[12..]);
                if (nextVersion == 0)
                    break;
                auxiliary += nextVersion;
            }
            uint next = BinaryPrimitives.ReadUInt32LittleEndian(requirement[12..]);
            if (next == 0)
                break;
            offset += next;
        }
    }

    /// <summary>sh_info holds the entry count; the section size bounds it against a bogus count
    /// or a chain that loops.</summary>
    private static int MaxEntries(ElfSection section, ReadOnlySpan<byte> data) =>
        section.Info == 0 ? data.Length : (int)Math.Min(section.Info, (uint)data.Length);

    private static ReadOnlySpan<byte> Slice(MappedFile file, ReadOnlySpan<byte> data, long offset, int size)
    {
        if (offset < 0 || offset > data.Length - size)
            throw new ElfFormatException($"{file.Path} is corrupt: a symbol version entry lies outside its section");
        return data.Slice((int)offset, size);
    }
}
