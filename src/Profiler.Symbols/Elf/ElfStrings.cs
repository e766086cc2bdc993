using System.Text;

namespace Profiler.Symbols.Elf;

/// <summary>Reads NUL-terminated names out of a string table section.</summary>
internal static class ElfStrings
{
    public static string Read(MappedFile file, ElfSection table, uint offset) =>
        offset == 0 ? "" : Encoding.UTF8.GetString(Bytes(file, table, offset));

    /// <summary>The name's UTF-8 bytes, without the terminating NUL, straight from the mapping.</summary>
    public static ReadOnlySpan<byte> Bytes(MappedFile file, ElfSection table, uint offset)
    {
        if (offset == 0)
            return [];
        if (!table.HasFileData || offset >= table.Size)
            throw new ElfFormatException(
                $"{file.Path} is corrupt: name offset 0x{offset:x} lies outside string table [{table.Index}]");
        var text = file.Read(table.Offset + offset, table.Size - offset, "a string table");
        int end = text.IndexOf((byte)0);
        return end < 0 ? text : text[..end];
    }

    /// <summary>The string table a symbol or version section names in sh_link.</summary>
    public static ElfSection LinkedTable(MappedFile file, IReadOnlyList<ElfSection> sections, ElfSection owner)
    {
        if (owner.Link >= sections.Count || sections[(int)owner.Link].Type != ElfSectionType.StrTab)
            throw new ElfFormatException(
                $"{file.Path} is corrupt: section [{owner.Index}] {owner.Name} links to section {owner.Link}, " +
                "which is not a string table");
        return sections[(int)owner.Link];
    }
}
