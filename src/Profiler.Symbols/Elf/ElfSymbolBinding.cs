namespace Profiler.Symbols.Elf;

/// <summary>The binding half of st_info. Values not listed here are kept as their number.</summary>
public enum ElfSymbolBinding : byte
{
    Local = 0,
    Global = 1,
    Weak = 2,

    /// <summary>STB_GNU_UNIQUE: global, and unique across the whole process.</summary>
    Unique = 10,
}
