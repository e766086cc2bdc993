using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>A process's slots as they are now: the plan, where each slot forwards, and the
/// dynamic linker's list (null when it could not be read: the order was then guessed).</summary>
public sealed record GotInspection(GotPlan Plan, GotForwarding Forwarding, LinkMap? LinkMap);

/// <summary>Gathers what the planner decides from (procfs, the mapped files, the process's
/// memory); decides nothing itself.</summary>
public static class GotInspector
{
    static readonly Dictionary<(string Path, long Length, DateTime Modified), GotImage?> Cache = [];

    /// <param name="sampler">The sampler's path as the maps name it, when it is loaded.</param>
    public static GotInspection Inspect(int pid, IProcessMemory memory, string? sampler = null)
    {
        var maps = ProcMaps.Read(pid);
        string executable = ExecutableOf(pid);
        var plan = GotPlanner.Plan(maps, Image, sampler);
        var linkMap = plan.Modules
            .Where(m => m.Role == ModuleRole.DynamicLinker && m.Image.RDebug is not null)
            .Select(m => LinkMap.Read(memory, m.LoadBias + m.Image.RDebug!.Value))
            .FirstOrDefault(l => l is not null);
        var order = linkMap?.Order(plan, executable) ?? GotOriginals.GuessLookupOrder(plan, executable);
        var found = new GotPatcher(memory).Read(plan);
        return new GotInspection(plan, GotOriginals.Resolve(plan, found, order), linkMap);
    }

    static string ExecutableOf(int pid)
    {
        try { return new FileInfo($"/proc/{pid}/exe").LinkTarget ?? ""; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    /// <summary>Images are cached per file version: every process maps the same libc.</summary>
    static GotImage? Image(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return null;
        var key = (path, info.Length, info.LastWriteTimeUtc);
        lock (Cache)
            if (Cache.TryGetValue(key, out var cached)) return cached;
        var image = GotImageReader.Read(path, out _);
        lock (Cache) Cache[key] = image;
        return image;
    }
}
