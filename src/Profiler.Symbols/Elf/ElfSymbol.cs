namespace Profiler.Symbols.Elf;

/// <summary>One entry of .symtab or .dynsym. <see cref="Name"/> is the string table's text, so a
/// .symtab name may carry a version suffix ("memcpy@GLIBC_2.2.5"); for .dynsym the version comes
/// from .gnu.version instead and is in <see cref="Version"/>.</summary>
/// <param name="SectionIndex">st_shndx with SHN_XINDEX already resolved; 0 means undefined,
/// 0xfff1 absolute, 0xfff2 common.</param>
/// <param name="IsHiddenVersion">The version is not the default one: a caller linking today would
/// not bind to this definition (nm prints name@VERSION rather than name@@VERSION).</param>
public sealed record ElfSymbol(
    string Name,
    ulong Value,
    ulong Size,
    ElfSymbolType Type,
    ElfSymbolBinding Binding,
    uint SectionIndex,
    bool FromDynamic,
    string? Version = null,
    bool IsHiddenVersion = false)
{
    public bool IsDefined => SectionIndex != ElfConstants.SectionUndefined;

    public bool IsFunction => Type is ElfSymbolType.Func or ElfSymbolType.IFunc;
}
