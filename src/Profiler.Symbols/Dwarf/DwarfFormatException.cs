namespace Profiler.Symbols.Dwarf;

/// <summary>Debug information that cannot be decoded. Caught inside the DWARF reader's callers: a
/// damaged compilation unit costs its own file and line numbers, never the whole profile.</summary>
public sealed class DwarfFormatException(string message) : Exception(message);
