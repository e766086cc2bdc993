using System.Numerics;

namespace Profiler.Core.Recording;

/// <summary>
/// The nodes of <see cref="RawStackTable"/>'s prefix tree: an address under its caller's node
/// (-1 for an outermost frame), one node per distinct such pair, numbered from zero as first
/// added. Kept in fixed-size chunks (growing copies nothing, and no array is large enough for the
/// large-object heap's doubling) with an open-addressing index of node numbers.
/// </summary>
sealed class RawStackNodes
{
    const int ChunkBits = 14, ChunkSize = 1 << ChunkBits, ChunkMask = ChunkSize - 1;
    /// <summary>Past this many a stack's code would not fit an int (<see cref="RawStackTable"/>).</summary>
    const int MaxNodes = 1 << 29;

    readonly List<ulong[]> _addresses = [];
    readonly List<int[]> _parents = [];
    /// <summary>Node number + 1 per slot (0: empty); at most half full. Null once the nodes are
    /// all added (<see cref="DropIndex"/>), until another is.</summary>
    int[]? _index = new int[1024];

    public int Count { get; private set; }

    public ulong Address(int node) => _addresses[node >> ChunkBits][node & ChunkMask];

    public int Parent(int node) => _parents[node >> ChunkBits][node & ChunkMask];

    /// <summary>The node of <paramref name="address"/> under <paramref name="parent"/>, added when new.</summary>
    public int Intern(int parent, ulong address)
    {
        if (_index is null) Reindex(Math.Max(1024, (int)BitOperations.RoundUpToPowerOf2((uint)(2 * Count + 2))));
        int mask = _index!.Length - 1;
        for (int slot = Slot(parent, address, mask); ; slot = (slot + 1) & mask)
        {
            int held = _index[slot] - 1;
            if (held < 0) break;
            if (Address(held) == address && Parent(held) == parent) return held;
        }
        if (Count == MaxNodes) throw new InvalidOperationException($"more than {MaxNodes:N0} distinct stack frames");
        int node = Count++;
        if ((node & ChunkMask) == 0)
        {
            _addresses.Add(new ulong[ChunkSize]);
            _parents.Add(new int[ChunkSize]);
        }
        _addresses[node >> ChunkBits][node & ChunkMask] = address;
        _parents[node >> ChunkBits][node & ChunkMask] = parent;
        if (2 * Count > _index.Length) Reindex(_index.Length * 2);
        else Place(_index, node);
        return node;
    }

    /// <summary>Frees the index: lookups by number need none, and a recording's nodes are all
    /// added while it is read.</summary>
    public void DropIndex() => _index = null;

    void Reindex(int slots)
    {
        var index = new int[slots];
        for (int node = 0; node < Count; node++) Place(index, node);
        _index = index;
    }

    void Place(int[] index, int node)
    {
        int mask = index.Length - 1;
        int slot = Slot(Parent(node), Address(node), mask);
        while (index[slot] != 0) slot = (slot + 1) & mask;
        index[slot] = node + 1;
    }

    static int Slot(int parent, ulong address, int mask)
    {
        ulong h = (address ^ ((ulong)(uint)parent << 32 | (uint)parent)) * 0x9E3779B97F4A7C15UL;
        return (int)(h >> 32) & mask;
    }
}
