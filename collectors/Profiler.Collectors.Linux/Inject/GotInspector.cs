using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>A process's slots as they are now: the plan, where each slot forwards, and the
/// dynamic linker's list (null when it could not be read: the order was then guessed).</summary>
public sealed record GotInspection(GotPlan Plan, GotForwarding Forwarding, LinkMap? LinkMap);

/// <summary>Gathers what the planner decides from (procfs, the mapped files, the process's
/// memory); decides nothing itself.</summary>
public static class GotInspector
{
    /// <param name="sampler">The sampler's path as the maps name it, when it is loaded.</param>
    public static GotInspection Inspect(int pid, IProcessMemory memory, string? sampler = null)
    {
        var maps = ProcMaps.Read(pid);
        string executable = ExecutableOf(pid);
        var plan = GotPlanner.Plan(maps, path => Image(pid, maps, path), sampler);
        var linkMap = plan.Modules
            .Where(m => m.Role == ModuleRole.DynamicLinker && m.Image.RDebug is not null)
            .Select(m => LinkMap.Read(memory, m.LoadBias + m.Image.RDebug!.Value))
            .FirstOrDefault(l => l is not null);
        var order = linkMap?.Order(plan, executable) ?? GotOriginals.GuessLookupOrder(plan, executable);
        var found = new GotPatcher(memory).Read(plan);
        return new GotInspection(plan, GotOriginals.Resolve(plan, found, order), linkMap);
    }

    /// <summary>The slots of every module loaded now, without resolving them.</summary>
    public static GotPlan PlanNow(int pid, string? sampler)
    {
        var maps = ProcMaps.Read(pid);
        return GotPlanner.Plan(maps, path => Image(pid, maps, path), sampler);
    }

    static string ExecutableOf(int pid)
    {
        try { return new FileInfo($"/proc/{pid}/exe").LinkTarget ?? ""; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    /// <summary>The file the process really maps, through /proc/PID/map_files: the same bytes even
    /// when the path now names another file (a library upgraded since, shown "(deleted)") or
    /// another root (a container). Falls back to the path where map_files is closed (not root).</summary>
    static GotImage? Image(int pid, IReadOnlyList<MapEntry> maps, string path)
    {
        var first = maps.First(m => m.Path == path && m.FileOffset == 0);
        string mapped = $"/proc/{pid}/map_files/{first.Start:x}-{first.End:x}";
        return GotImageReader.Read(mapped, out _) ?? GotImageReader.Read(path, out _);
    }
}
