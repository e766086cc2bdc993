namespace Profiler.Symbols.Dwarf;

/// <summary>One frame of the source position of an address. <see cref="Function"/> is null when
/// the debug information has line numbers but no function there (the caller names it from the
/// symbol table); <see cref="Line"/> is null when the line is unknown (DWARF line 0).</summary>
public sealed record SourceFrame(string? Function, string? File, int? Line);
