namespace Profiler.Core.Model;

/// <summary>
/// A model's events in time order, handed out a chunk at a time: an analysis that reads them
/// this way keeps only what it aggregates (per stack, per live block), never a per-event table.
/// <see cref="AllocationTable"/> is one chunk; a recording streamed from its file
/// (<see cref="StreamedEvents"/>) is one chunk per event batch and is read anew on each walk.
/// </summary>
public interface IEventSource
{
    /// <summary>How many events a walk visits.</summary>
    long Count { get; }

    /// <summary>Calls <paramref name="visit"/> with every chunk, in time order. The chunk and its
    /// arrays may be reused for the next one: keep values, not the chunk.</summary>
    void Walk(Action<EventChunk> visit);
}

/// <summary>Consecutive events: the first <see cref="Count"/> entries of each array.</summary>
public sealed class EventChunk
{
    public EventKind[] Kind = [];
    public long[] TimeNanos = [];
    public uint[] Pid = [];
    public uint[] Tid = [];
    public ulong[] Address = [];
    public ulong[] Size = [];
    public ulong[] Weight = [];
    public StackId[] Stack = [];
    public AllocFunction[] Function = [];

    public int Count;

    /// <summary>The index of the chunk's first event among all the source's events.</summary>
    public long FirstIndex;

    /// <summary>Makes room for <paramref name="capacity"/> events, keeping the first <see cref="Count"/>.</summary>
    public void EnsureCapacity(int capacity)
    {
        if (Kind.Length >= capacity) return;
        int size = Math.Max(capacity, Kind.Length * 2);
        Array.Resize(ref Kind, size);
        Array.Resize(ref TimeNanos, size);
        Array.Resize(ref Pid, size);
        Array.Resize(ref Tid, size);
        Array.Resize(ref Address, size);
        Array.Resize(ref Size, size);
        Array.Resize(ref Weight, size);
        Array.Resize(ref Stack, size);
        Array.Resize(ref Function, size);
    }

    public void Add(EventKind kind, long time, uint pid, uint tid, ulong address, ulong size, ulong weight, StackId stack, AllocFunction function)
    {
        if (Count == Kind.Length) EnsureCapacity(Math.Max(16, Count + 1));
        int i = Count++;
        Kind[i] = kind;
        TimeNanos[i] = time;
        Pid[i] = pid;
        Tid[i] = tid;
        Address[i] = address;
        Size[i] = size;
        Weight[i] = weight;
        Stack[i] = stack;
        Function[i] = function;
    }
}

public static class EventSources
{
    /// <summary>The index of the last event at or before <paramref name="time"/>; -1 if none.</summary>
    public static long LastIndexAtOrBefore(this IEventSource source, long time)
    {
        if (source is AllocationTable table) return Analysis.HeapTimelines.LastIndexAtOrBefore(table.TimeNanos, time);
        long last = -1;
        source.Walk(chunk =>
        {
            for (int j = 0; j < chunk.Count && chunk.TimeNanos[j] <= time; j++) last = chunk.FirstIndex + j;
        });
        return last;
    }
}
