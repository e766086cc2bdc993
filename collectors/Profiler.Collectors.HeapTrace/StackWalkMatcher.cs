namespace Profiler.Collectors.HeapTrace;

/// <summary>
/// Stack walks waiting for the event they belong to. ETW logs a walk as its own event right
/// after the event it describes and names that event by thread and timestamp, so walks are
/// kept by (thread, event time) until the heap event is processed or the walk is too old to match.
/// </summary>
public sealed class StackWalkMatcher
{
    /// <summary>First address of the kernel half of the x64 / ARM64 address space.</summary>
    public const ulong KernelAddressStart = 0xFFFF_8000_0000_0000;

    readonly Dictionary<(uint Tid, long EventTime), ulong[]> _pending = [];
    // Two events of one thread within one clock tick share a key; their walks match in order.
    readonly Dictionary<(uint Tid, long EventTime), Queue<ulong[]>> _sameKey = [];
    readonly Queue<(uint Tid, long EventTime)> _arrival = new();

    public int Count => _pending.Count;

    /// <summary>Walks that matched no event before they expired.</summary>
    public long Unmatched { get; private set; }

    public void Add(StackWalk walk)
    {
        var key = (walk.Tid, walk.EventTimeNanos);
        var frames = UserFrames(walk.Addresses);
        if (_pending.TryAdd(key, frames)) { _arrival.Enqueue(key); return; }
        if (!_sameKey.TryGetValue(key, out var later)) _sameKey[key] = later = new Queue<ulong[]>();
        later.Enqueue(frames);
    }

    /// <summary>The user-mode stack of the event thread <paramref name="tid"/> logged at
    /// <paramref name="eventTime"/>, removed from the pending set; null when none arrived.</summary>
    public ulong[]? Take(uint tid, long eventTime)
    {
        var key = (tid, eventTime);
        if (!_pending.Remove(key, out var stack)) return null;
        if (_sameKey.TryGetValue(key, out var later))
        {
            _pending[key] = later.Dequeue();
            if (later.Count == 0) _sameKey.Remove(key);
        }
        return stack;
    }

    /// <summary>Drops walks of events before <paramref name="eventTime"/>: their events were
    /// processed already (and did not ask for them), so nothing can match them any more.</summary>
    public void Expire(long eventTime)
    {
        while (_arrival.TryPeek(out var key) && key.EventTime < eventTime)
        {
            _arrival.Dequeue();
            if (_pending.Remove(key)) Unmatched++;
            if (_sameKey.Remove(key, out var later)) Unmatched += later.Count;
        }
    }

    /// <summary>A walk of an event logged through a system call starts with the kernel's frames;
    /// only the user-mode part names the program's code.</summary>
    public static ulong[] UserFrames(ulong[] addresses)
    {
        int kernel = 0;
        foreach (var a in addresses) if (a >= KernelAddressStart) kernel++;
        if (kernel == 0) return addresses;
        var user = new ulong[addresses.Length - kernel];
        int i = 0;
        foreach (var a in addresses) if (a < KernelAddressStart) user[i++] = a;
        return user;
    }
}
