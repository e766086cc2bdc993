using System.Buffers.Binary;

namespace Profiler.Symbols.Elf;

/// <summary>The .gnu_debuglink section: the file name of the separate debug file, padded to 4 bytes,
/// then the CRC-32 of that file.</summary>
internal sealed record ElfDebugLink(string FileName, uint Crc)
{
    public const string SectionName = ".gnu_debuglink";

    public static ElfDebugLink? Find(MappedFile file, IReadOnlyList<ElfSection> sections)
    {
        var section = sections.FirstOrDefault(s => s.Name == SectionName && s.HasFileData);
        if (section is null)
            return null;
        var data = file.Read(section.Offset, section.Size, "the .gnu_debuglink section");
        int nameEnd = data.IndexOf((byte)0);
        int crcOffset = (nameEnd + 4) & ~3;
        if (nameEnd <= 0 || crcOffset + 4 > data.Length)
            return null;
        return new ElfDebugLink(System.Text.Encoding.UTF8.GetString(data[..nameEnd]),
            BinaryPrimitives.ReadUInt32LittleEndian(data[crcOffset..]));
    }
}
