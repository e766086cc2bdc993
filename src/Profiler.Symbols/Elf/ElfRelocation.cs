namespace Profiler.Symbols.Elf;

/// <summary>One dynamic relocation that names a symbol (an Elf64_Rela of .rela.dyn or .rela.plt).</summary>
/// <param name="Offset">r_offset: the link-time address of the word the dynamic linker writes.</param>
/// <param name="Type">The machine's relocation type (x86-64: 6 GLOB_DAT, 7 JUMP_SLOT, 1 R_X86_64_64).</param>
/// <param name="Symbol">The .dynsym entry it names; its version is the one the file asked for
/// ("GLIBC_2.2.5" for malloc@GLIBC_2.2.5).</param>
/// <param name="Section">The relocation section it was read from.</param>
public sealed record ElfRelocation(ulong Offset, uint Type, long Addend, ElfSymbol Symbol, string Section);
