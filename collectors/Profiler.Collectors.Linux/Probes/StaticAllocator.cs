using Profiler.Core.Analysis;
using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Probes;

/// <summary>
/// A statically linked executable carries its allocator inside, and memprof finds it by symbol.
/// Stripped (or with an allocator under names memprof does not know), nothing of the program's
/// can be probed: its calls go uncounted, and the counters hold only what other files' probes saw
/// (memprof's launcher shell before it exec'd the command). The recording says so.
/// </summary>
public static class StaticAllocator
{
    /// <summary>The mode note for an executable whose allocator could not be found, or null.</summary>
    public static string? NotFoundNote(string executable)
    {
        string name = Path.GetFileName(executable);
        bool stripped;
        if (!ElfFile.TryOpen(executable, out var elf, out _)) return null;
        using (elf)
        {
            if (elf.FindSection(".interp") is not null) return null;
            stripped = elf.FindSection(".symtab") is null;
        }
        if (ProbePlanner.PlanFile(executable).Sites.Count > 0) return null;
        string why = stripped ? "statically linked and stripped" : "statically linked with an allocator memprof does not recognize";
        return $"{name} is {why}: {CounterCoverage.AllocatorNotFoundNote}, so only calls through the allocators found in other " +
               "files were counted (memprof's launcher shell's, before it exec'd the command), none of the program's own";
    }
}
