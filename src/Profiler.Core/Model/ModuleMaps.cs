using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Model;

/// <summary>Per-process address → mapped file lookup over the module records of a recording.</summary>
public sealed class ModuleMaps
{
    readonly Dictionary<uint, MappedModule[]> _byPid;

    ModuleMaps(Dictionary<uint, MappedModule[]> byPid) => _byPid = byPid;

    public static ModuleMaps From(IEnumerable<Module> modules)
    {
        var byPid = modules
            .GroupBy(m => m.Pid)
            .ToDictionary(g => g.Key, g => g
                .Select(m => new MappedModule(m.Path, m.BuildId, m.Start, m.End, m.FileOffset))
                .DistinctBy(m => (m.Start, m.End, m.Path))
                .OrderBy(m => m.Start)
                .ToArray());
        return new ModuleMaps(byPid);
    }

    public MappedModule? Find(uint pid, ulong address)
    {
        if (!_byPid.TryGetValue(pid, out var maps)) return null;
        int lo = 0, hi = maps.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            if (maps[mid].Start <= address) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        // A later snapshot may hold an overlapping mapping for a reloaded file; scan back briefly.
        for (int i = found; i >= 0 && i > found - 8; i--)
            if (address >= maps[i].Start && address < maps[i].End) return maps[i];
        return null;
    }
}
