namespace Profiler.Symbols.Elf;

/// <summary>Numbers from the ELF64 specification (and the GNU extensions) that the reader needs.</summary>
internal static class ElfConstants
{
    public static ReadOnlySpan<byte> Magic => [0x7f, (byte)'E', (byte)'L', (byte)'F'];

    public const int IdentSize = 16;
    public const int ClassOffset = 4;
    public const int DataOffset = 5;
    public const int VersionOffset = 6;
    public const byte Class32 = 1;
    public const byte Class64 = 2;
    public const byte LittleEndian = 1;
    public const byte BigEndian = 2;
    public const byte CurrentVersion = 1;

    public const int HeaderSize = 64;
    public const int ProgramHeaderSize = 56;
    public const int SectionHeaderSize = 64;
    public const int SymbolSize = 24;
    public const int CompressionHeaderSize = 24;

    public const ushort TypeExecutable = 2;
    public const ushort TypeSharedObject = 3;

    public const uint ProgramLoad = 1;
    public const uint ProgramNote = 4;

    /// <summary>e_phnum / e_shstrndx value meaning "the real number is in section header 0".</summary>
    public const ushort ExtendedNumbering = 0xffff;

    public const uint SectionUndefined = 0;
    public const uint SectionReservedStart = 0xff00;
    public const uint SectionAbsolute = 0xfff1;
    public const uint SectionIndexInExtendedTable = 0xffff;

    public const uint NoteGnuBuildId = 3;
    public static ReadOnlySpan<byte> GnuNoteName => [(byte)'G', (byte)'N', (byte)'U', 0];

    public const uint CompressZlib = 1;
    public const uint CompressZstd = 2;

    public const ushort VersionDefinitionIsFileItself = 0x1;
    public const ushort VersionHiddenBit = 0x8000;
    public const ushort VersionLocal = 0;
    public const ushort VersionGlobal = 1;
}
