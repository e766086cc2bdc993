using Profiler.Symbols.Dwarf;
using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Resolution;

/// <summary>Finds the separate debug file of a module the way gdb does: by build id under each
/// debug directory, then by .gnu_debuglink name beside the module, in its .debug/ subdirectory
/// and under each debug directory; extra symbol paths are searched first. A candidate counts only
/// when it matches: same build id, or (for debug link names) the CRC the link records.</summary>
internal sealed class DebugFileLocator(SymbolOptions options)
{
    /// <param name="module">The module, opened.</param>
    /// <param name="buildId">The module's build id as recorded (or read from it), or empty.</param>
    /// <returns>The debug file, opened, or null.</returns>
    public ElfFile? Find(ElfFile module, string buildId)
    {
        foreach (var (path, viaDebugLink) in Candidates(module, buildId))
        {
            if (path == module.Path || !File.Exists(path) || !ElfFile.TryOpen(path, out var candidate, out _))
                continue;
            if (Matches(module, buildId, candidate, viaDebugLink) && (candidate.HasSymtab || DwarfSections.IsPresentIn(candidate)))
                return candidate;
            candidate.Dispose();
        }
        return null;
    }

    private IEnumerable<(string Path, bool ViaDebugLink)> Candidates(ElfFile module, string buildId)
    {
        var debugDirectories = options.SymbolPaths.Concat(options.DebugDirectories).ToList();
        if (buildId.Length > 2)
        {
            string relative = Path.Combine(".build-id", buildId[..2], buildId[2..] + ".debug");
            foreach (var directory in debugDirectories)
                yield return (Path.Combine(directory, relative), false);
        }
        string moduleDirectory = Path.GetDirectoryName(Path.GetFullPath(module.Path)) ?? "/";
        string fileName = Path.GetFileName(module.Path);
        if (module.DebugLink is { Length: > 0 } link && !link.Contains('/'))
        {
            foreach (var directory in options.SymbolPaths)
                yield return (Path.Combine(directory, link), true);
            yield return (Path.Combine(moduleDirectory, link), true);
            yield return (Path.Combine(moduleDirectory, ".debug", link), true);
            foreach (var directory in debugDirectories)
                yield return (Path.Combine(directory, moduleDirectory.TrimStart('/'), link), true);
        }
        foreach (var directory in options.SymbolPaths)
        {
            yield return (Path.Combine(directory, fileName), false);
            yield return (Path.Combine(directory, fileName + ".debug"), false);
        }
    }

    private static bool Matches(ElfFile module, string buildId, ElfFile candidate, bool viaDebugLink)
    {
        if (buildId.Length > 0 && candidate.BuildId is { } candidateId)
            return candidateId == buildId;
        if (viaDebugLink && module.DebugLinkCrc is { } crc)
        {
            try
            {
                return DebugLinkCrc.OfFile(candidate.Path) == crc;
            }
            catch (IOException)
            {
                return false;
            }
        }
        return false;
    }
}
