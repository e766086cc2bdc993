namespace Profiler.Symbols.Elf;

/// <summary>The file is not an ELF file this reader understands: not ELF at all, truncated,
/// corrupt, or a variant that is not supported (32-bit, big-endian). The message names the
/// file and says what is wrong in one sentence.</summary>
public sealed class ElfFormatException(string message, Exception? inner = null) : Exception(message, inner);
