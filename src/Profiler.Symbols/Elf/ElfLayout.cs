using System.Buffers.Binary;

namespace Profiler.Symbols.Elf;

/// <summary>Everything that follows from the ELF header: file kind, program headers and section
/// headers. Reading it touches only the headers, and checks that the headers and the sections'
/// contents lie inside the file, so that a truncated file fails at open with one clear message.</summary>
internal sealed record ElfLayout(
    ElfKind Kind,
    ushort Machine,
    IReadOnlyList<ElfSegment> LoadSegments,
    IReadOnlyList<ElfSegment> NoteSegments,
    IReadOnlyList<ElfSection> Sections)
{
    public static ElfLayout Read(MappedFile file)
    {
        CheckIdentification(file);
        var header = file.Read(0, ElfConstants.HeaderSize, "the ELF header");
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(header[16..]);
        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        ulong programHeaderOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
        ulong sectionHeaderOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[40..]);
        ushort programHeaderSize = BinaryPrimitives.ReadUInt16LittleEndian(header[54..]);
        ushort programHeaderCount = BinaryPrimitives.ReadUInt16LittleEndian(header[56..]);
        ushort sectionHeaderSize = BinaryPrimitives.ReadUInt16LittleEndian(header[58..]);
        ushort sectionHeaderCount = BinaryPrimitives.ReadUInt16LittleEndian(header[60..]);
        ushort sectionNamesIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[62..]);

        var rawSections = ElfSectionHeaders.Read(file, sectionHeaderOffset, sectionHeaderSize, sectionHeaderCount,
            out uint extendedProgramHeaderCount, out uint extendedNamesIndex);
        ulong programHeaders = programHeaderCount == ElfConstants.ExtendedNumbering
            ? extendedProgramHeaderCount
            : programHeaderCount;
        uint namesIndex = sectionNamesIndex == ElfConstants.ExtendedNumbering ? extendedNamesIndex : sectionNamesIndex;

        var (loads, notes) = ReadProgramHeaders(file, programHeaderOffset, programHeaderSize, programHeaders);
        var kind = type switch
        {
            ElfConstants.TypeExecutable => ElfKind.Executable,
            ElfConstants.TypeSharedObject => ElfKind.SharedObject,
            _ => ElfKind.Other,
        };
        return new ElfLayout(kind, machine, loads, notes, ElfSectionHeaders.Name(file, rawSections, namesIndex));
    }

    private static void CheckIdentification(MappedFile file)
    {
        if (!file.Contains(0, (ulong)ElfConstants.Magic.Length) ||
            !file.Read(0, (ulong)ElfConstants.Magic.Length, "the ELF magic").SequenceEqual(ElfConstants.Magic))
            throw new ElfFormatException($"{file.Path} is not an ELF file (it does not start with the ELF magic bytes)");
        var ident = file.Read(0, ElfConstants.IdentSize, "the ELF identification bytes");
        switch (ident[ElfConstants.ClassOffset])
        {
            case ElfConstants.Class64: break;
            case ElfConstants.Class32:
                throw new ElfFormatException($"{file.Path} is a 32-bit ELF file; only 64-bit ELF files are supported");
            case var other:
                throw new ElfFormatException($"{file.Path} is corrupt: unknown ELF class {other}");
        }
        switch (ident[ElfConstants.DataOffset])
        {
            case ElfConstants.LittleEndian: break;
            case ElfConstants.BigEndian:
                throw new ElfFormatException(
                    $"{file.Path} is a big-endian ELF file; only little-endian ELF files are supported");
            case var other:
                throw new ElfFormatException($"{file.Path} is corrupt: unknown ELF byte order {other}");
        }
        if (ident[ElfConstants.VersionOffset] != ElfConstants.CurrentVersion)
            throw new ElfFormatException(
                $"{file.Path} has ELF version {ident[ElfConstants.VersionOffset]}; only version 1 exists");
    }

    private static (List<ElfSegment> Loads, List<ElfSegment> Notes) ReadProgramHeaders(
        MappedFile file, ulong offset, ushort entrySize, ulong count)
    {
        var loads = new List<ElfSegment>();
        var notes = new List<ElfSegment>();
        if (count == 0)
            return (loads, notes);
        if (entrySize < ElfConstants.ProgramHeaderSize)
            throw new ElfFormatException($"{file.Path} is corrupt: program headers are {entrySize} bytes, expected 56");
        if (count > file.Length / entrySize)
            throw new ElfFormatException($"{file.Path} is truncated or corrupt: it claims {count} program headers");
        var table = file.Read(offset, count * entrySize, "the program header table");
        for (int i = 0; i < (int)count; i++)
        {
            var entry = table.Slice(i * entrySize, ElfConstants.ProgramHeaderSize);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            if (type is not (ElfConstants.ProgramLoad or ElfConstants.ProgramNote))
                continue;
            var segment = new ElfSegment(
                VirtualAddress: BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]),
                FileOffset: BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]),
                FileSize: BinaryPrimitives.ReadUInt64LittleEndian(entry[32..]),
                MemorySize: BinaryPrimitives.ReadUInt64LittleEndian(entry[40..]),
                Flags: (ElfSegmentFlags)BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]),
                Alignment: BinaryPrimitives.ReadUInt64LittleEndian(entry[48..]));
            // Segments are not checked against the file's length: separate debug files made by
            // eu-strip keep the original program headers, which point past their own end.
            (type == ElfConstants.ProgramLoad ? loads : notes).Add(segment);
        }
        return (loads, notes);
    }
}
