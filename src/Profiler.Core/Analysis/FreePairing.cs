using Profiler.Core.Model;

namespace Profiler.Core.Analysis;

/// <summary>
/// Pairs each free with the allocation it releases: the last allocation of the same address in
/// the same process not yet freed. The live blocks' table outgrows the CPU's caches on big
/// recordings, so the slot of the event a few ahead is prefetched while this one is handled.
/// (Splitting the keys between two threads measured slower: the work waits on memory, not on the CPU.)
/// </summary>
static class FreePairing
{
    /// <summary>How many events ahead to prefetch: enough to cover a miss, few enough to stay cached.</summary>
    const int PrefetchDistance = 16;

    /// <param name="ReplacedLive">Allocations at the address of a block still live, whose free
    /// was therefore not recorded (lost); that block stays counted as live.</param>
    public sealed record Result(int[] FreedBy, int[] Releases, long Frees, long FreedBytes, long UnmatchedFrees, long LiveBlocks,
        long ReplacedLive);

    public static Result Pair(AllocationTable ev)
    {
        int n = ev.Count;
        var freedBy = new int[n];
        var releases = new int[n];
        Array.Fill(freedBy, -1);
        Array.Fill(releases, -1);
        var live = new LiveBlockMap();
        var kinds = ev.Kind;
        var pids = ev.Pid;
        var addresses = ev.Address;
        var weights = ev.Weight;
        long frees = 0, freed = 0, unmatched = 0, replaced = 0;
        for (int i = 0; i < n; i++)
        {
            if (i + PrefetchDistance < n) live.Prefetch(pids[i + PrefetchDistance], addresses[i + PrefetchDistance]);
            var kind = kinds[i];
            if (kind == EventKind.Alloc)
            {
                // An address handed out again without a recorded free: the earlier free was lost.
                if (live.Set(pids[i], addresses[i], i)) replaced++;
                continue;
            }
            if (kind != EventKind.Free) continue;
            if (!live.Remove(pids[i], addresses[i], out int a)) { unmatched++; continue; }
            freedBy[a] = i;
            releases[i] = a;
            freed += (long)weights[a];
            frees++;
        }
        return new Result(freedBy, releases, frees, freed, unmatched, live.Count, replaced);
    }
}
