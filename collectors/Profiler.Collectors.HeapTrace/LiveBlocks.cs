namespace Profiler.Collectors.HeapTrace;

/// <summary>A live heap block: its requested size, and whether it was sampled (then with the
/// bytes it stands for, which its free carries too).</summary>
public readonly record struct Block(ulong Size, bool Sampled, ulong Weight);

/// <summary>
/// Every block allocated since tracing began and not yet freed, per (process, heap). All of them
/// are kept, sampled or not: a free reports only an address, so its size and whether it must be
/// written are known only from here, and destroying a heap frees whatever it still holds.
/// </summary>
public sealed class LiveBlocks
{
    readonly Dictionary<(uint Pid, ulong Heap), Dictionary<ulong, Block>> _heaps = [];

    public long Count { get; private set; }

    public bool TryGet(uint pid, ulong heap, ulong address, out Block block)
    {
        block = default;
        return _heaps.TryGetValue((pid, heap), out var blocks) && blocks.TryGetValue(address, out block);
    }

    /// <summary>Adds a block; returns the block it displaced at the same address, whose free was not seen.</summary>
    public Block? Add(uint pid, ulong heap, ulong address, Block block)
    {
        if (!_heaps.TryGetValue((pid, heap), out var blocks)) _heaps[(pid, heap)] = blocks = [];
        if (blocks.Remove(address, out var displaced))
        {
            blocks[address] = block;
            return displaced;
        }
        blocks[address] = block;
        Count++;
        return null;
    }

    public bool Remove(uint pid, ulong heap, ulong address, out Block block)
    {
        block = default;
        if (!_heaps.TryGetValue((pid, heap), out var blocks) || !blocks.Remove(address, out block)) return false;
        Count--;
        return true;
    }

    /// <summary>Removes a heap and returns what it still held, in address order.</summary>
    public IReadOnlyList<(ulong Address, Block Block)> RemoveHeap(uint pid, ulong heap)
    {
        if (!_heaps.Remove((pid, heap), out var blocks)) return [];
        Count -= blocks.Count;
        return blocks.OrderBy(b => b.Key).Select(b => (b.Key, b.Value)).ToList();
    }
}
