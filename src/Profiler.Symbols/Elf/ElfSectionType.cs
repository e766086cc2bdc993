namespace Profiler.Symbols.Elf;

/// <summary>sh_type. Values not listed here are kept as their number.</summary>
public enum ElfSectionType : uint
{
    Null = 0,
    ProgBits = 1,
    SymTab = 2,
    StrTab = 3,
    Rela = 4,
    Hash = 5,
    Dynamic = 6,
    Note = 7,
    NoBits = 8,
    Rel = 9,
    DynSym = 11,
    InitArray = 14,
    FiniArray = 15,
    PreinitArray = 16,
    Group = 17,
    SymTabShndx = 18,
    Relr = 19,
    GnuHash = 0x6ffffff6,
    GnuVerDef = 0x6ffffffd,
    GnuVerNeed = 0x6ffffffe,
    GnuVerSym = 0x6fffffff,
}
