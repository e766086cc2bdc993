using Profiler.Core.Model;

namespace Profiler.Symbols.Resolution;

/// <summary>What kind of image a recorded module is: it decides which resolver can name its
/// addresses and what its offsets mean.</summary>
public enum ModuleFormat
{
    /// <summary>An ELF file (executable, shared library, vDSO) of a Unix address space, mapped
    /// by file offset; named from its symbol tables and DWARF, found by path and build id.</summary>
    Elf,

    /// <summary>A PE image of a Windows address space, mapped whole at its base, so its offsets
    /// are RVAs; named from its PDB, found by the PDB signature recorded as its build id.</summary>
    Pe,
}

public static class ModuleFormats
{
    /// <summary>A module recorded under a Windows path (<see cref="ModulePath.IsWindows"/>) is a PE
    /// image; any other (an absolute Unix path, a pseudo-mapping such as <c>[vdso]</c>) is ELF. The
    /// path, not the file on disk, decides: a recording is often read on another machine than it
    /// was made on.</summary>
    public static ModuleFormat Of(MappedModule module) => ModulePath.IsWindows(module.Path) ? ModuleFormat.Pe : ModuleFormat.Elf;
}
