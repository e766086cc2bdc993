namespace Profiler.Symbols.Elf;

/// <summary>The type half of st_info. Values not listed here are kept as their number.</summary>
public enum ElfSymbolType : byte
{
    NoType = 0,
    Object = 1,
    Func = 2,
    Section = 3,
    File = 4,
    Common = 5,
    Tls = 6,

    /// <summary>STT_GNU_IFUNC: the symbol's address is the resolver that picks an
    /// implementation at load time, not the implementation itself.</summary>
    IFunc = 10,
}
