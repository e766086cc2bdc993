using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>A recording as read from disk: raw addresses and module maps, events in columns.</summary>
public sealed class RawRecording
{
    public required Header Header { get; init; }
    public required IReadOnlyList<Module> Modules { get; init; }
    public required IReadOnlyList<Proto.Thread> Threads { get; init; }
    public required IReadOnlyDictionary<ulong, Stack> Stacks { get; init; }
    public required EventColumns Events { get; init; }
    public required IReadOnlyList<ProcessExit> Exits { get; init; }
    public IReadOnlyList<ProcessExec> Execs { get; init; } = [];
    public IReadOnlyList<ProcessFork> Forks { get; init; } = [];
    /// <summary>Exact per-process totals in recording order (cumulative values).</summary>
    public IReadOnlyList<HeapCounters> Counters { get; init; } = [];
    public Stats? LastStats { get; init; }
    public Footer? Footer { get; init; }
    /// <summary>Problems the reader tolerated, e.g. a truncated tail after a crash.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }
    /// <summary>Whether the recording is whole (recordings built in memory are).</summary>
    public RecordingIntegrity Integrity { get; init; } = new(true, false, 0, 0);

    public ulong LostEvents => Math.Max(Footer?.LostEvents ?? 0, LastStats?.LostEvents ?? 0);
}

/// <summary>All events of a recording, one array per field, in recording order.</summary>
public sealed class EventColumns
{
    public int Count { get; private set; }
    public EventKind[] Kind = [];
    public long[] TimeNanos = [];
    public uint[] Pid = [];
    public uint[] Tid = [];
    public ulong[] Address = [];
    public ulong[] Size = [];
    public ulong[] Weight = [];
    public ulong[] StackId = [];
    public AllocFunction[] Function = [];

    public RawEvent this[int i] => new(Kind[i], TimeNanos[i], Pid[i], Tid[i], Address[i], Size[i], Weight[i], StackId[i], Function[i]);

    public void Add(in RawEvent e)
    {
        if (Count == Kind.Length) Grow();
        Kind[Count] = e.Kind;
        TimeNanos[Count] = e.TimeNanos;
        Pid[Count] = e.Pid;
        Tid[Count] = e.Tid;
        Address[Count] = e.Address;
        Size[Count] = e.Size;
        Weight[Count] = e.Weight;
        StackId[Count] = e.StackId;
        Function[Count] = e.Function;
        Count++;
    }

    /// <summary>Shrinks the columns to <see cref="Count"/>, so each array holds exactly the events.</summary>
    public void TrimExcess() => Resize(Count);

    /// <summary>Columns of exactly <paramref name="count"/> events, zero, for a reader to fill in place.</summary>
    public static EventColumns OfLength(int count)
    {
        var columns = new EventColumns();
        columns.Resize(count);
        columns.Count = count;
        return columns;
    }

    void Grow() => Resize(Math.Max(1024, Kind.Length * 2));

    void Resize(int n)
    {
        Array.Resize(ref Kind, n);
        Array.Resize(ref TimeNanos, n);
        Array.Resize(ref Pid, n);
        Array.Resize(ref Tid, n);
        Array.Resize(ref Address, n);
        Array.Resize(ref Size, n);
        Array.Resize(ref Weight, n);
        Array.Resize(ref StackId, n);
        Array.Resize(ref Function, n);
    }
}
