using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Dwarf;

/// <summary>The debug sections the symbolizer reads, loaded (and decompressed) when the file's debug
/// information is first used. Absent sections are empty.</summary>
internal sealed class DwarfSections
{
    private DwarfSections(ElfFile elf)
    {
        Info = DwarfSection.Load(elf, ".debug_info");
        Abbrev = DwarfSection.Load(elf, ".debug_abbrev");
        Line = DwarfSection.Load(elf, ".debug_line");
        Str = DwarfSection.Load(elf, ".debug_str");
        LineStr = DwarfSection.Load(elf, ".debug_line_str");
        StrOffsets = DwarfSection.Load(elf, ".debug_str_offsets");
        Addr = DwarfSection.Load(elf, ".debug_addr");
        Ranges = DwarfSection.Load(elf, ".debug_ranges");
        RngLists = DwarfSection.Load(elf, ".debug_rnglists");
        Aranges = DwarfSection.Load(elf, ".debug_aranges");
    }

    public DwarfSection Info { get; }
    public DwarfSection Abbrev { get; }
    public DwarfSection Line { get; }
    public DwarfSection Str { get; }
    public DwarfSection LineStr { get; }
    public DwarfSection StrOffsets { get; }
    public DwarfSection Addr { get; }
    public DwarfSection Ranges { get; }
    public DwarfSection RngLists { get; }
    public DwarfSection Aranges { get; }

    /// <summary>True when the file carries DWARF at all (a .debug_info section).</summary>
    public static bool IsPresentIn(ElfFile elf) =>
        (elf.FindSection(".debug_info") ?? elf.FindSection(".zdebug_info")) is { HasFileData: true, Size: > 0 };

    /// <exception cref="ElfFormatException">A section cannot be read or decompressed.</exception>
    public static DwarfSections Load(ElfFile elf) => new(elf);
}
