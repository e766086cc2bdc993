using System.Buffers.Binary;

namespace Profiler.Symbols.Elf;

/// <summary>Finds the GNU build id among the file's notes. Malformed notes are skipped rather than
/// reported: a missing build id only costs a debug-file lookup, not the whole file.</summary>
internal static class ElfNotes
{
    public static string? FindBuildId(MappedFile file, ElfLayout layout)
    {
        // The note segment is what survives stripping of section headers, so it goes first.
        foreach (var segment in layout.NoteSegments)
        {
            if (file.Contains(segment.FileOffset, segment.FileSize) &&
                FindBuildId(file.Read(segment.FileOffset, segment.FileSize, "a note segment"), segment.Alignment)
                    is { } id)
                return id;
        }
        foreach (var section in layout.Sections)
        {
            if (section.Type == ElfSectionType.Note &&
                FindBuildId(file.Read(section.Offset, section.Size, "a note section"), section.Alignment) is { } id)
                return id;
        }
        return null;
    }

    private static string? FindBuildId(ReadOnlySpan<byte> notes, ulong alignment)
    {
        // Notes are 4-aligned, except that 8-aligned note sections (.note.gnu.property) pad to 8.
        long align = alignment == 8 ? 8 : 4;
        long position = 0;
        while (notes.Length - position >= 12)
        {
            var header = notes[(int)position..];
            uint nameSize = BinaryPrimitives.ReadUInt32LittleEndian(header);
            uint descriptionSize = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
            long nameStart = position + 12;
            long descriptionStart = AlignUp(nameStart + nameSize, align);
            long descriptionEnd = descriptionStart + descriptionSize;
            if (descriptionEnd > notes.Length)
                return null;
            if (type == ElfConstants.NoteGnuBuildId && descriptionSize > 0 &&
                notes.Slice((int)nameStart, (int)nameSize).SequenceEqual(ElfConstants.GnuNoteName))
                return Convert.ToHexStringLower(notes[(int)descriptionStart..(int)descriptionEnd]);
            position = AlignUp(descriptionEnd, align);
        }
        return null;
    }

    private static long AlignUp(long value, long align) => (value + align - 1) & ~(align - 1);
}
