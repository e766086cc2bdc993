using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Dwarf;

/// <summary>The bytes of one debug section, kept for the life of the <see cref="ElfFile"/> they
/// come from. An uncompressed section is a window on the file's mapping (only the pages a lookup
/// touches are ever read); a compressed one is inflated once into an array.</summary>
internal sealed unsafe class DwarfSection
{
    private readonly byte[]? _array;
    private readonly byte* _mapped;
    private readonly int _length;

    private DwarfSection(string name, byte[]? array, byte* mapped, int length)
    {
        Name = name;
        _array = array;
        _mapped = mapped;
        _length = length;
    }

    public string Name { get; }

    public bool IsPresent => _length > 0;

    public int Length => _length;

    public ReadOnlySpan<byte> Span => _array ?? new ReadOnlySpan<byte>(_mapped, _length);

    public DwarfCursor Cursor(ulong position = 0) => new(Span, position);

    public static DwarfSection Missing(string name) => new(name, [], null, 0);

    /// <summary>The section ".debug_NAME" (or its old compressed twin ".zdebug_NAME"), or an empty
    /// one. <see cref="ElfFile.ReadSection"/> hands uncompressed sections out as spans over the
    /// mapping, which stays put until the file is disposed, so the span's address is kept.</summary>
    public static DwarfSection Load(ElfFile elf, string name)
    {
        var section = elf.FindSection(name) ?? elf.FindSection(".z" + name[1..]);
        if (section is null || !section.HasFileData)
            return Missing(name);
        var bytes = elf.ReadSection(section);
        if (bytes.IsEmpty)
            return Missing(name);
        if (section.IsCompressed || section.Name.StartsWith(".zdebug", StringComparison.Ordinal))
            return new DwarfSection(name, bytes.ToArray(), null, bytes.Length);
        return new DwarfSection(name, null, (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(bytes)), bytes.Length);
    }

    /// <summary>The NUL-terminated UTF-8 string at <paramref name="offset"/>.</summary>
    public string ReadString(ulong offset)
    {
        var span = Span;
        if (offset >= (ulong)span.Length)
            throw new DwarfFormatException($"string offset 0x{offset:x} lies outside {Name} (0x{span.Length:x} bytes)");
        var rest = span[(int)offset..];
        int end = rest.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? rest : rest[..end]);
    }
}
