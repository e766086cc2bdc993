using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Viewer.ViewModels;

/// <summary>
/// The allocations made in a time range, with the frees that released them (so lifetimes,
/// retained and leaked bytes stay those of the allocations), read from the model's events on
/// each walk. Pairing a free with its allocation keeps only the live blocks' "made in range".
/// </summary>
sealed class AllocatedInRange(IEventSource events, TimeRange range) : IEventSource
{
    long? _count;

    public long Count => _count ??= CountEvents();

    long CountEvents()
    {
        long count = 0;
        Walk(chunk => count += chunk.Count);
        return count;
    }

    public void Walk(Action<EventChunk> visit)
    {
        var chunk = new EventChunk();
        var inRange = new Dictionary<(uint Pid, ulong Address), bool>();
        long index = 0;
        events.Walk(all =>
        {
            chunk.Count = 0;
            chunk.FirstIndex = index;
            for (int i = 0; i < all.Count; i++)
            {
                var key = (all.Pid[i], all.Address[i]);
                bool keep;
                if (all.Kind[i] == EventKind.Alloc)
                {
                    keep = range.Contains(all.TimeNanos[i]);
                    // The last allocation of an address is the one its next free releases.
                    inRange[key] = keep;
                }
                else keep = all.Kind[i] == EventKind.Free && inRange.Remove(key, out bool allocatedInRange) && allocatedInRange;
                if (keep)
                    chunk.Add(all.Kind[i], all.TimeNanos[i], all.Pid[i], all.Tid[i], all.Address[i], all.Size[i], all.Weight[i],
                        all.Stack[i], all.Function[i]);
            }
            index += chunk.Count;
            if (chunk.Count > 0) visit(chunk);
        });
    }
}
