namespace Profiler.Collectors.HeapTrace;

/// <summary>
/// Holds records until no earlier one can still arrive, then hands them out in time order.
/// Real-time ETW delivers each CPU's buffer separately (about once a second), so a free logged on
/// one CPU can arrive before the allocation logged earlier on another; records are held for a
/// window longer than that delivery lag. Equal times keep their arrival order.
/// </summary>
public sealed class ReorderBuffer
{
    readonly PriorityQueue<TraceRecord, (long Time, long Sequence)> _queue = new();
    long _sequence;

    public int Count => _queue.Count;

    public void Add(TraceRecord record) => _queue.Enqueue(record, (record.TimeNanos, _sequence++));

    /// <summary>Takes the earliest record if its time is at or before <paramref name="upTo"/>.</summary>
    public bool TryTake(long upTo, out TraceRecord record)
    {
        if (_queue.TryPeek(out var next, out var key) && key.Time <= upTo)
        {
            _queue.Dequeue();
            record = next;
            return true;
        }
        record = null!;
        return false;
    }

    /// <summary>The time of the earliest record held, if any.</summary>
    public long? EarliestTime => _queue.TryPeek(out _, out var key) ? key.Time : null;
}
