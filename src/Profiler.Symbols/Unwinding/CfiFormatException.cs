namespace Profiler.Symbols.Unwinding;

/// <summary>Call frame information that cannot be decoded: a length running past its section, an
/// unknown opcode or pointer encoding. Internal to the unwinder, which turns it into "no unwind
/// information here" for the one entry concerned, so a corrupt FDE never fails a whole stack.</summary>
internal sealed class CfiFormatException(string message) : Exception(message);
