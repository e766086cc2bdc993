using Profiler.Core.Model;

namespace Profiler.Core.Analysis;

/// <summary>A recorded allocation not yet freed, as a paired walk remembers it.</summary>
/// <param name="Index">Its event's index in the source.</param>
public readonly record struct LiveBlock(long Index, long TimeNanos, uint Pid, uint Tid, ulong Size, ulong Weight, StackId Stack,
    ulong Address, AllocFunction Function);

/// <summary>What an analysis does with the events of a <see cref="PairedWalk"/>; every method is optional.</summary>
public abstract class PairedVisitor
{
    /// <summary>Any event, before <see cref="Alloc"/> or <see cref="Free"/> is called for it.</summary>
    public virtual void Event(EventChunk chunk, int j) { }

    public virtual void Alloc(EventChunk chunk, int j) { }

    /// <summary>A free and the allocation it released; <paramref name="released"/> is null when
    /// that allocation was not recorded (made before attaching, or its event lost).</summary>
    public virtual void Free(EventChunk chunk, int j, in LiveBlock? released) { }

    /// <summary>An allocation at the address of a block still live: that block's free was not
    /// recorded (lost), so it stays live to the end.</summary>
    public virtual void Reused(in LiveBlock old) { }

    /// <summary>The blocks never freed, in allocation order: live at the end, and those whose
    /// address was handed out again without a recorded free (their free was lost).</summary>
    public virtual void End(IReadOnlyList<LiveBlock> live) { }
}

/// <summary>
/// One pass over the events pairing each free with the allocation it releases — the last
/// allocation of the same address in the same process not yet freed, as <see cref="FreePairing"/>
/// pairs them — keeping only the live blocks: memory follows the live heap, not the events.
/// </summary>
public static class PairedWalk
{
    public static void Run(IEventSource source, params PairedVisitor[] visitors)
    {
        var map = new LiveBlockMap();
        var blocks = new List<LiveBlock>();
        var freeSlots = new Stack<int>();
        // Blocks whose address was reused while they were live: never freed, so live to the end.
        var replaced = new List<LiveBlock>();
        source.Walk(chunk =>
        {
            for (int j = 0; j < chunk.Count; j++)
            {
                foreach (var v in visitors) v.Event(chunk, j);
                var kind = chunk.Kind[j];
                if (kind == EventKind.Alloc)
                {
                    var block = new LiveBlock(chunk.FirstIndex + j, chunk.TimeNanos[j], chunk.Pid[j], chunk.Tid[j],
                        chunk.Size[j], chunk.Weight[j], chunk.Stack[j], chunk.Address[j], chunk.Function[j]);
                    int slot;
                    if (freeSlots.Count > 0) blocks[slot = freeSlots.Pop()] = block;
                    else { slot = blocks.Count; blocks.Add(block); }
                    if (map.Set(chunk.Pid[j], chunk.Address[j], slot, out int previous))
                    {
                        replaced.Add(blocks[previous]);
                        freeSlots.Push(previous);
                        foreach (var v in visitors) v.Reused(blocks[previous]);
                    }
                    foreach (var v in visitors) v.Alloc(chunk, j);
                }
                else if (kind == EventKind.Free)
                {
                    LiveBlock? released = null;
                    if (map.Remove(chunk.Pid[j], chunk.Address[j], out int slot))
                    {
                        released = blocks[slot];
                        freeSlots.Push(slot);
                    }
                    foreach (var v in visitors) v.Free(chunk, j, released);
                }
            }
        });
        var free = new bool[blocks.Count];
        foreach (int slot in freeSlots) free[slot] = true;
        var live = new List<LiveBlock>(blocks.Count - freeSlots.Count + replaced.Count);
        for (int slot = 0; slot < blocks.Count; slot++)
            if (!free[slot]) live.Add(blocks[slot]);
        live.AddRange(replaced);
        live.Sort((a, b) => a.Index.CompareTo(b.Index));
        foreach (var v in visitors) v.End(live);
    }
}
