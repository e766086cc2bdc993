using System.Text;

namespace Profiler.Symbols.Elf;

/// <summary>A symbol table entry whose name is still the UTF-8 bytes in the mapping, so that
/// building a table over hundreds of thousands of symbols does not create a string for each.</summary>
internal readonly ref struct RawSymbol
{
    public required ReadOnlySpan<byte> Name { get; init; }
    public required ulong Value { get; init; }
    public required ulong Size { get; init; }
    public required ElfSymbolType Type { get; init; }
    public required ElfSymbolBinding Binding { get; init; }
    public required uint SectionIndex { get; init; }
    public required bool FromDynamic { get; init; }
    public string? Version { get; init; }
    public bool IsHiddenVersion { get; init; }

    public bool IsDefinedFunction =>
        Type is (ElfSymbolType.Func or ElfSymbolType.IFunc) && SectionIndex != ElfConstants.SectionUndefined;

    public ElfSymbol ToSymbol() => new(Encoding.UTF8.GetString(Name), Value, Size, Type, Binding, SectionIndex,
        FromDynamic, Version, IsHiddenVersion);
}

internal delegate void RawSymbolVisitor(in RawSymbol symbol);
