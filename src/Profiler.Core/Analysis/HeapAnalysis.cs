using System.Runtime.CompilerServices;
using Profiler.Core.Model;

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
    /// <summary>Live bytes after each event that changed them: (time, live bytes). Built on first use.</summary>
    public IReadOnlyList<(long TimeNanos, long LiveBytes)> Timeline => _timeline ??= TimelineOf(_events, Releases);

    readonly AllocationTable _events;
    IReadOnlyList<(long TimeNanos, long LiveBytes)>? _timeline;

    HeapAnalysis(AllocationTable events) => _events = events;

    /// <summary>Analyses already made or under way, per events table: the viewer, the reports and
    /// <see cref="StartComputing"/> share one instead of pairing ten million events again.</summary>
    static readonly ConditionalWeakTable<AllocationTable, Lazy<HeapAnalysis>> Computed = new();

    /// <summary>The analysis of the model's events, computed once per events table.</summary>
    public static HeapAnalysis Compute(ProfileModel model) => Of(model.Events);

    /// <summary>Starts analysing these events on another thread; <see cref="Compute"/> for a model
    /// with them waits for that instead of starting over. Reads no stacks, so it may run while
    /// they are symbolized.</summary>
    public static void StartComputing(AllocationTable events) => ThreadPool.UnsafeQueueUserWorkItem(e =>
    {
        // A failure is kept by the Lazy and thrown where the analysis is asked for.
        try { Of(e); }
        catch (Exception) { }
    }, events, preferLocal: false);

    static HeapAnalysis Of(AllocationTable events) =>
        Computed.GetValue(events, e => new Lazy<HeapAnalysis>(() => ComputeFresh(e), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    static HeapAnalysis ComputeFresh(AllocationTable ev)
    {
        var paired = FreePairing.Pair(ev);
        var releases = paired.Releases;
        var kinds = ev.Kind;
        var weights = ev.Weight;
        var times = ev.TimeNanos;
        long liveBytes = 0, peakBytes = 0, peakTime = 0, allocated = 0, allocations = 0;
        for (int i = 0; i < ev.Count; i++)
        {
            if (kinds[i] == EventKind.Alloc)
            {
                allocated += (long)weights[i];
                allocations++;
                liveBytes += (long)weights[i];
            }
            else if (kinds[i] == EventKind.Free && releases[i] >= 0) liveBytes -= (long)weights[releases[i]];
            else continue;
            if (liveBytes > peakBytes) { peakBytes = liveBytes; peakTime = times[i]; }
        }
        return new HeapAnalysis(ev)
        {
            FreedBy = paired.FreedBy,
            Releases = releases,
            Totals = new HeapTotals(allocated, allocations, paired.FreedBytes, paired.Frees, liveBytes, paired.LiveBlocks,
                peakBytes, peakTime, paired.UnmatchedFrees) { ReplacedLive = paired.ReplacedLive },
        };
    }

    static List<(long, long)> TimelineOf(AllocationTable ev, int[] releases)
    {
        var timeline = new List<(long, long)>();
        long liveBytes = 0;
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] == EventKind.Alloc) liveBytes += (long)ev.Weight[i];
            else if (ev.Kind[i] == EventKind.Free && releases[i] >= 0) liveBytes -= (long)ev.Weight[releases[i]];
            else continue;
            timeline.Add((ev.TimeNanos[i], liveBytes));
        }
        return timeline;
    }
}

public sealed record HeapTotals(
    long AllocatedBytes, long Allocations, long FreedBytes, long Frees,
    long LiveBytes, long LiveBlocks, long PeakBytes, long PeakTimeNanos, long UnmatchedFrees)
{
    /// <summary>Allocations at the address of a block still live: that block's free was not
    /// recorded, so it stays counted as live (retained and leaked figures are high).</summary>
    public long ReplacedLive { get; init; }
}
