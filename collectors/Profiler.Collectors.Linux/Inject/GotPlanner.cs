using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Decides which words of a process to rewrite so that its allocator calls go through the
/// sampler: from the process's mappings and each mapped file's relocations, nothing else.</summary>
public static class GotPlanner
{
    /// <param name="images">A mapped file's image, or null when it cannot be read (gone, not ELF).</param>
    /// <param name="sampler">The sampler library's path as the maps name it (its file name is
    /// recognised anywhere too, so that a copy left by another memprof is never patched).</param>
    public static GotPlan Plan(IReadOnlyList<MapEntry> maps, Func<string, GotImage?> images, string? sampler)
    {
        var modules = new List<ModuleInstance>();
        var skipped = new List<GotSkip>();
        var frees = new List<GotSlot>();
        var allocations = new List<GotSlot>();
        // Only files with code mapped can be loaded modules: data files and devices are never opened.
        var code = maps.Where(m => m.IsFile && m.IsExecutable).Select(m => m.Path).ToHashSet();
        var readable = new Dictionary<string, GotImage?>();
        foreach (var start in maps.Where(m => m.FileOffset == 0 && code.Contains(m.Path)))
        {
            if (!readable.TryGetValue(start.Path, out var image))
            {
                readable[start.Path] = image = images(start.Path);
                if (image is null) skipped.Add(new GotSkip(start.Path, "its file cannot be read"));
            }
            if (image is null) continue;
            // This copy's mappings run up to the next copy of the same file.
            ulong end = maps.Where(m => m.Path == start.Path && m.FileOffset == 0 && m.Start > start.Start)
                .Select(m => m.Start).DefaultIfEmpty(ulong.MaxValue).Min();
            var own = maps.Where(m => m.Path == start.Path && m.Start >= start.Start && m.Start < end).ToList();
            // No code mapped: the program mapped the file to read it, the dynamic linker did not load it.
            if (!own.Any(m => m.IsExecutable)) continue;
            var module = new ModuleInstance(start.Path, start.Start - image.FirstLoadAddress, RoleOf(start.Path, sampler), image);
            var slots = image.References
                .Select(r => new GotSlot(module, r, module.LoadBias + r.VirtualAddress))
                .DistinctBy(s => s.Address)
                .ToList();
            var misplaced = slots.Where(s => !MappedAsInFile(own, s)).Select(s => s.Address).ToHashSet();
            modules.Add(module);
            if (module.Role != ModuleRole.Patched) continue;
            foreach (var slot in slots)
            {
                if (misplaced.Contains(slot.Address))
                    skipped.Add(new GotSkip(start.Path, "the process does not map the file's bytes at this address", slot));
                else if (slot.Address % 8 != 0)
                    skipped.Add(new GotSkip(start.Path, "not 8-byte aligned, so it cannot be rewritten in one store", slot));
                else
                    (slot.OnlyFrees ? frees : allocations).Add(slot);
            }
        }
        return new GotPlan([.. frees, .. allocations], skipped, modules, maps);
    }

    /// <summary>The vdso and vsyscall pages are not files, so they never get here.</summary>
    public static ModuleRole RoleOf(string path, string? sampler)
    {
        string name = System.IO.Path.GetFileName(path);
        if (path == sampler || name == Preload.PreloadLibrary.FileName) return ModuleRole.Sampler;
        if (IsDynamicLinker(name)) return ModuleRole.DynamicLinker;
        return ModuleRole.Patched;
    }

    /// <summary>glibc's ld-linux-x86-64.so.2 (ld-2.31.so before 2.34), musl's ld-musl-x86_64.so.1.</summary>
    static bool IsDynamicLinker(string name) =>
        name.StartsWith("ld-", StringComparison.Ordinal) && name.Contains(".so", StringComparison.Ordinal);

    /// <summary>The slot's 8 bytes lie in a mapping of the same file, at the file offset the ELF
    /// file gives them: never write where the file's bytes are not.</summary>
    static bool MappedAsInFile(IReadOnlyList<MapEntry> own, GotSlot slot) =>
        own.Any(m => slot.Address >= m.Start && slot.Address <= m.End - 8 &&
                      m.FileOffset + (slot.Address - m.Start) == slot.Reference.FileOffset);
}
