using Profiler.Core.Model;
using Profiler.Symbols.Elf;

namespace Profiler.Export.Pprof;

/// <summary>One loadable segment of a module: the file bytes at <paramref name="FileOffset"/> are
/// mapped at link-time address <paramref name="VirtualAddress"/> for <paramref name="MemorySize"/> bytes.</summary>
public sealed record ModuleSegment(ulong VirtualAddress, ulong MemorySize, ulong FileOffset)
{
    public bool Contains(ulong address) => address >= VirtualAddress && address - VirtualAddress < MemorySize;
}

/// <summary>The loadable segments of the modules' files on this machine (ELF PT_LOAD headers), so
/// pprof mappings can say which file bytes their link-time addresses come from.</summary>
public static class ElfModuleSegments
{
    /// <summary>Null when the file cannot be read or its build id differs from the recorded one:
    /// the symbolization pass did not use such a file either, and named its frames by file offset.</summary>
    public static IReadOnlyList<ModuleSegment>? Read(ModuleInfo module)
    {
        if (!ElfFile.TryOpen(module.Path, out var elf, out _)) return null;
        using (elf)
        {
            if (module.BuildId.Length > 0 && elf.BuildId is { } id && id != module.BuildId) return null;
            return elf.LoadSegments
                .Where(s => s.MemorySize > 0)
                .Select(s => new ModuleSegment(s.VirtualAddress, s.MemorySize, s.FileOffset))
                .ToList();
        }
    }
}
