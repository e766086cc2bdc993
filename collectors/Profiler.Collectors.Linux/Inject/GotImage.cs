using Profiler.Collectors.Linux.Probes;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>How a word comes to hold a function's address: a PLT call's slot, a GOT entry the
/// code loads the address from, or an address stored in data (a table of allocator functions).</summary>
public enum SlotKind { JumpSlot, GlobDat, DataPointer }

/// <summary>One word of a file that the dynamic linker fills with the address of a malloc-family function.</summary>
/// <param name="Symbol">The name without its version ("malloc").</param>
/// <param name="Version">The version the file asked for ("GLIBC_2.2.5"), or null.</param>
/// <param name="VirtualAddress">r_offset: the word's link-time address.</param>
/// <param name="FileOffset">Where the word lies in the file, to check that the process maps it there.</param>
public sealed record GotReference(AllocatorApi.Entry Api, string Symbol, string? Version, SlotKind Kind,
    ulong VirtualAddress, ulong FileOffset);

/// <summary>A malloc-family function the file defines and exports: what a reference may be bound to.</summary>
/// <param name="IsDefault">Unversioned or the default version (name@@V): what a lookup by name finds.</param>
/// <param name="ValueAddress">The link-time address of the symbol's st_value in .dynsym (null:
/// no section headers to find it by): the word the dynamic linker reads when it binds a reference.</param>
/// <param name="ValueFileOffset">Where that word lies in the file.</param>
public sealed record GotExport(string Symbol, ulong VirtualAddress, bool IsDefault, ulong? ValueAddress = null, ulong? ValueFileOffset = null);

/// <summary>What the planner needs to know about one ELF file.</summary>
/// <param name="FirstLoadAddress">The first load segment's page-aligned address (the load bias rule's).</param>
/// <param name="RDebug">The address of _r_debug when the file is the dynamic linker: where the
/// list of loaded objects starts.</param>
public sealed record GotImage(string Path, ulong FirstLoadAddress, IReadOnlyList<GotReference> References,
    IReadOnlyList<GotExport> Exports, ulong? RDebug = null);
