using System.Buffers.Binary;
using System.IO.Compression;

namespace Profiler.Symbols.Elf;

/// <summary>Inflates compressed debug sections: the standard SHF_COMPRESSED form (an Elf64_Chdr
/// in front of the data) and the older GNU ".zdebug_*" form ("ZLIB" and a big-endian size).</summary>
internal static class ElfSectionDecompressor
{
    private static ReadOnlySpan<byte> GnuMagic => "ZLIB"u8;
    private const int GnuHeaderSize = 12;

    public static bool IsGnuCompressed(MappedFile file, ElfSection section) =>
        section.Name.StartsWith(".zdebug", StringComparison.Ordinal) && section.HasFileData &&
        section.Size >= GnuHeaderSize && file.Read(section.Offset, 4, "a .zdebug section").SequenceEqual(GnuMagic);

    public static byte[] Decompress(MappedFile file, ElfSection section)
    {
        if (section.Size < ElfConstants.CompressionHeaderSize)
            throw Corrupt(file, section, "it is too small to hold a compression header");
        var header = file.Read(section.Offset, ElfConstants.CompressionHeaderSize, "a compression header");
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        return type switch
        {
            ElfConstants.CompressZlib => Inflate(file, section, ElfConstants.CompressionHeaderSize, size),
            // .NET has no zstd decoder in the box; such files are rare enough to refuse clearly.
            ElfConstants.CompressZstd => throw new ElfFormatException(
                $"{file.Path}: section {section.Name} is zstd-compressed, which is not supported"),
            _ => throw Corrupt(file, section, $"it uses unknown compression type {type}"),
        };
    }

    public static byte[] DecompressGnu(MappedFile file, ElfSection section)
    {
        ulong size = BinaryPrimitives.ReadUInt64BigEndian(file.Read(section.Offset + 4, 8, "a .zdebug header"));
        return Inflate(file, section, GnuHeaderSize, size);
    }

    private static byte[] Inflate(MappedFile file, ElfSection section, ulong headerSize, ulong size)
    {
        if (size > (ulong)Array.MaxLength)
            throw new ElfFormatException(
                $"{file.Path}: section {section.Name} decompresses to 0x{size:x} bytes, more than can be held in memory");
        var result = new byte[size];
        using var compressed = file.OpenStream(section.Offset + headerSize, section.Size - headerSize,
            $"section {section.Name}");
        using var zlib = new ZLibStream(compressed, CompressionMode.Decompress);
        int got;
        try
        {
            got = zlib.ReadAtLeast(result, result.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException ex)
        {
            throw Corrupt(file, section, $"its zlib data is damaged ({ex.Message})", ex);
        }
        if (got != result.Length)
            throw Corrupt(file, section, $"it decompresses to {got} bytes, but its header says {size}");
        return result;
    }

    private static ElfFormatException Corrupt(MappedFile file, ElfSection section, string why, Exception? inner = null) =>
        new($"{file.Path} is corrupt: compressed section {section.Name} cannot be read because {why}", inner);
}
