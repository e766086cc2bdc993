namespace Profiler.Symbols.Dwarf;

/// <summary>DWARF that cannot be decoded: debug information, call frame information or an expression
/// (a length running past its section, an unknown form, opcode or pointer encoding). Caught inside
/// the readers' callers: a damaged compilation unit costs its own file and line numbers, a corrupt
/// FDE the unwind information of its own function, never the whole profile or stack.</summary>
public sealed class DwarfFormatException(string message) : Exception(message);
