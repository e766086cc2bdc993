namespace Profiler.Core.Analysis;

/// <summary>Where a heap figure comes from.</summary>
public enum HeapSource
{
    /// <summary>The collector's exact counters over every allocator call (allocator usable bytes).</summary>
    Counters,
    /// <summary>The recorded events: exact at sampling rate 1, an estimate from samples otherwise.</summary>
    Events,
    /// <summary>A sum over processes of which some had counters and some did not.</summary>
    Mixed,
}

/// <param name="Operations">Allocations and frees up to this point, cumulative.</param>
public readonly record struct HeapPoint(long TimeNanos, long LiveBytes, long Operations);

/// <summary>Exact cumulative totals over every allocator call, from the collector's counters.</summary>
public sealed record ExactHeapCounts(ulong Allocations, ulong AllocatedBytes, ulong Frees, ulong FreedBytes)
{
    public static ExactHeapCounts operator +(ExactHeapCounts a, ExactHeapCounts b) =>
        new(a.Allocations + b.Allocations, a.AllocatedBytes + b.AllocatedBytes, a.Frees + b.Frees, a.FreedBytes + b.FreedBytes);
}

/// <summary>Live heap bytes over time of one process (<paramref name="Pid"/>) or of all (null).</summary>
/// <param name="Points">In time order; the live bytes hold from each point to the next.</param>
/// <param name="PeakEventIndex">The last event at or before the peak (events are in time order),
/// -1 when no event came before it: the events live at the peak are those allocated at or before
/// this index and freed after it.</param>
/// <param name="Exact">Exact totals when the collector counted every call, else null.</param>
public sealed record HeapTimeline(
    uint? Pid, HeapSource Source, IReadOnlyList<HeapPoint> Points,
    long PeakBytes, long PeakTimeNanos, int PeakEventIndex, ExactHeapCounts? Exact)
{
    public long FinalLiveBytes => Points.Count > 0 ? Points[^1].LiveBytes : 0;
}
