using Profiler.Core.Model;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Analysis;

/// <summary>Frees paired with their allocations, and what stayed live.</summary>
public sealed class HeapAnalysis
{
    /// <summary>For each allocation event, the index of the free that released it, or -1.</summary>
    public required int[] FreedBy { get; init; }
    /// <summary>For each free event, the index of the allocation it released, or -1 when that
    /// allocation was not recorded (made before attaching).</summary>
    public required int[] Releases { get; init; }
    public required HeapTotals Totals { get; init; }
    /// <summary>Live bytes after each event that changed them: (time, live bytes).</summary>
    public required IReadOnlyList<(long TimeNanos, long LiveBytes)> Timeline { get; init; }

    public static HeapAnalysis Compute(ProfileModel model)
    {
        var ev = model.Events;
        int n = ev.Count;
        var freedBy = new int[n];
        var releases = new int[n];
        Array.Fill(freedBy, -1);
        Array.Fill(releases, -1);
        var live = new Dictionary<(uint, ulong), int>();
        var timeline = new List<(long, long)>();
        long liveBytes = 0, peakBytes = 0, peakTime = 0;
        long allocated = 0, allocations = 0, freed = 0, frees = 0, unmatchedFrees = 0;

        for (int i = 0; i < n; i++)
        {
            var key = (ev.Pid[i], ev.Address[i]);
            if (ev.Kind[i] == EventKind.Alloc)
            {
                // An address handed out again without a recorded free: the earlier free was lost.
                live[key] = i;
                allocated += (long)ev.Weight[i];
                allocations++;
                liveBytes += (long)ev.Weight[i];
            }
            else if (ev.Kind[i] == EventKind.Free)
            {
                if (!live.Remove(key, out int a)) { unmatchedFrees++; continue; }
                freedBy[a] = i;
                releases[i] = a;
                freed += (long)ev.Weight[a];
                frees++;
                liveBytes -= (long)ev.Weight[a];
            }
            else continue;
            timeline.Add((ev.TimeNanos[i], liveBytes));
            if (liveBytes > peakBytes) { peakBytes = liveBytes; peakTime = ev.TimeNanos[i]; }
        }

        long liveBlocks = live.Count;
        return new HeapAnalysis
        {
            FreedBy = freedBy,
            Releases = releases,
            Timeline = timeline,
            Totals = new HeapTotals(allocated, allocations, freed, frees, liveBytes, liveBlocks, peakBytes, peakTime, unmatchedFrees),
        };
    }
}

public sealed record HeapTotals(
    long AllocatedBytes, long Allocations, long FreedBytes, long Frees,
    long LiveBytes, long LiveBlocks, long PeakBytes, long PeakTimeNanos, long UnmatchedFrees);
