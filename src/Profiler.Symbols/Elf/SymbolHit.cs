namespace Profiler.Symbols.Elf;

/// <summary>The function an address falls in. <see cref="Size"/> is the extent used for the
/// match, which for a symbol declared with size 0 is the distance to the next symbol.</summary>
public readonly record struct SymbolHit(string Name, ulong Start, ulong Size, ulong Offset);
