using System.Diagnostics.CodeAnalysis;

namespace Profiler.Symbols.Elf;

/// <summary>A 64-bit little-endian ELF file, memory-mapped. Opening reads and validates only the
/// headers; notes, symbols and section contents are read when first asked for. Spans handed out
/// by <see cref="ReadSection"/> point into the mapping and must not be used after Dispose.
/// All members except Dispose are safe to call from several threads at once.</summary>
public sealed class ElfFile : IDisposable
{
    private readonly MappedFile _file;
    private readonly ElfLayout _layout;
    private readonly Lazy<string?> _buildId;
    private readonly Lazy<ElfDebugLink?> _debugLink;

    private ElfFile(MappedFile file, ElfLayout layout)
    {
        _file = file;
        _layout = layout;
        _buildId = new Lazy<string?>(() => ElfNotes.FindBuildId(_file, _layout));
        _debugLink = new Lazy<ElfDebugLink?>(() => ElfDebugLink.Find(_file, _layout.Sections));
    }

    public string Path => _file.Path;

    public ElfKind Kind => _layout.Kind;

    /// <summary>e_machine: 62 for x86-64, 183 for AArch64.</summary>
    public ushort Machine => _layout.Machine;

    /// <summary>Lowercase hex of the NT_GNU_BUILD_ID note, or null when the file has none.</summary>
    public string? BuildId => _buildId.Value;

    /// <summary>File name of the separate debug file named by .gnu_debuglink, or null.</summary>
    public string? DebugLink => _debugLink.Value?.FileName;

    /// <summary>CRC-32 the separate debug file must have, or null when there is no debug link.</summary>
    public uint? DebugLinkCrc => _debugLink.Value?.Crc;

    public IReadOnlyList<ElfSection> Sections => _layout.Sections;

    public IReadOnlyList<ElfSegment> LoadSegments => _layout.LoadSegments;

    /// <summary>False when the file is stripped and only .dynsym is left.</summary>
    public bool HasSymtab => _layout.Sections.Any(s => s.Type == ElfSectionType.SymTab && s.HasFileData);

    /// <exception cref="ElfFormatException">The file is not a readable 64-bit little-endian ELF file.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static ElfFile Open(string path)
    {
        var file = MappedFile.Open(path);
        try
        {
            return new ElfFile(file, ElfLayout.Read(file));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Like <see cref="Open"/>, but reports an unreadable file (missing, unreadable, not ELF)
    /// as a one-line error instead of an exception, for callers walking every mapping of a process.</summary>
    public static bool TryOpen(string path, [NotNullWhen(true)] out ElfFile? elf, [NotNullWhen(false)] out string? error)
    {
        try
        {
            elf = Open(path);
            error = null;
            return true;
        }
        catch (Exception ex) when (ex is ElfFormatException or IOException or UnauthorizedAccessException)
        {
            elf = null;
            error = ex is ElfFormatException ? ex.Message : $"{path}: {ex.Message}";
            return false;
        }
    }

    public ElfSection? FindSection(string name) => _layout.Sections.FirstOrDefault(s => s.Name == name);

    /// <summary>The section's contents, decompressed if the section is compressed (then the span
    /// wraps a fresh array; otherwise it points into the mapping). Empty for .bss-like sections.</summary>
    public ReadOnlySpan<byte> ReadSection(ElfSection section)
    {
        if (section.Index < 0 || section.Index >= _layout.Sections.Count || _layout.Sections[section.Index] != section)
            throw new ArgumentException($"section {section.Name} does not belong to {Path}", nameof(section));
        if (!section.HasFileData)
            return [];
        if (section.IsCompressed)
            return ElfSectionDecompressor.Decompress(_file, section);
        if (ElfSectionDecompressor.IsGnuCompressed(_file, section))
            return ElfSectionDecompressor.DecompressGnu(_file, section);
        return _file.Read(section.Offset, section.Size, $"section {section.Name}");
    }

    /// <summary>Every entry of .symtab and .dynsym (in section order), read lazily from the file;
    /// each enumeration reads the tables again.</summary>
    public IEnumerable<ElfSymbol> ReadSymbols() => ElfSymbolReader.Read(_file, _layout.Sections);

    /// <summary>Every entry of .dynsym only: what the dynamic linker sees, without reading a large .symtab.</summary>
    public IEnumerable<ElfSymbol> ReadDynamicSymbols() => ElfSymbolReader.Read(_file, _layout.Sections, dynamicOnly: true);

    /// <summary>The dynamic relocations that name a symbol (.rela.dyn, .rela.plt), in file order;
    /// each enumeration reads them again.</summary>
    public IEnumerable<ElfRelocation> ReadDynamicRelocations() => ElfRelocationReader.Read(_file, _layout.Sections);

    internal void VisitSymbols(RawSymbolVisitor visitor) => ElfSymbolReader.Visit(_file, _layout.Sections, visitor);

    /// <summary>Size of the string tables behind the symbol tables: room enough for every name.</summary>
    internal int SymbolNameBytes =>
        (int)Math.Min(ElfSymbolReader.NameBytes(_layout.Sections), (ulong)Array.MaxLength);

    /// <summary>Where the byte at link-time address <paramref name="virtualAddress"/> lives in the
    /// file (what a uprobe is attached by); null for addresses outside every PT_LOAD's file bytes.</summary>
    public ulong? VirtualAddressToFileOffset(ulong virtualAddress)
    {
        foreach (var segment in _layout.LoadSegments)
        {
            if (virtualAddress >= segment.VirtualAddress && virtualAddress - segment.VirtualAddress < segment.FileSize)
                return segment.FileOffset + (virtualAddress - segment.VirtualAddress);
        }
        return null;
    }

    /// <summary>The link-time address the file byte at <paramref name="fileOffset"/> is loaded at;
    /// null for bytes no PT_LOAD maps.</summary>
    public ulong? FileOffsetToVirtualAddress(ulong fileOffset)
    {
        foreach (var segment in _layout.LoadSegments)
        {
            if (fileOffset >= segment.FileOffset && fileOffset - segment.FileOffset < segment.FileSize)
                return segment.VirtualAddress + (fileOffset - segment.FileOffset);
        }
        return null;
    }

    public void Dispose() => _file.Dispose();
}
