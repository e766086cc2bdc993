namespace Profiler.Collectors.Linux.Ring;

/// <summary>The recording's stack id for each stack a shared ring's writer named. A writer's name
/// is its ring's index + 1 in the high half and the ring's count of named stacks in the low half
/// (memprof_ring.h): per ring, names are consecutive from 1. Each ring's ids are held in an array
/// indexed by that count, in chunks of up to 8192 (64 KiB, below the large-object heap's
/// threshold: growing copies at most a chunk and leaves no large-object garbage, which only a
/// gen2 collection frees): 8 bytes a name, where a Dictionary took 28 and left each of its
/// smaller arrays behind as it grew (cppcheck at --rate 1: 352 k names). A name of another shape
/// (none from the writers of this version) is kept in a Dictionary.</summary>
public sealed class RingStackNames
{
    const int ChunkBits = 13;
    const int ChunkLength = 1 << ChunkBits;
    const int MinChunkLength = 64;
    /// <summary>Rings beyond this index are kept in the Dictionary (a ring file holds far fewer).</summary>
    const uint MaxRings = 1 << 16;

    /// <summary>[ring][chunk][index in chunk]: the stack id + 1 (0: not named).</summary>
    ulong[]?[]?[] _rings = [];
    Dictionary<ulong, ulong>? _otherNames;

    public int Count { get; private set; }

    public void Set(ulong name, ulong stackId)
    {
        if (!TrySplit(name, out uint ring, out uint count))
        {
            _otherNames ??= [];
            if (_otherNames.TryAdd(name, stackId)) Count++;
            else _otherNames[name] = stackId;
            return;
        }
        if (ring >= _rings.Length) Array.Resize(ref _rings, (int)Math.Max(ring + 1, Math.Min(MaxRings, (uint)_rings.Length * 2)));
        ref var chunks = ref _rings[ring];
        int chunk = (int)(count >> ChunkBits);
        chunks ??= new ulong[]?[Math.Max(chunk + 1, 4)];
        if (chunk >= chunks.Length) Array.Resize(ref chunks, Math.Max(chunk + 1, chunks.Length * 2));
        int index = (int)(count & (ChunkLength - 1));
        ref var ids = ref chunks[chunk];
        // A chunk starts small and doubles: each of 256 threads naming a few stacks takes little.
        if (ids is null || index >= ids.Length)
            Array.Resize(ref ids, Math.Min(ChunkLength, Math.Max(MinChunkLength, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)index + 1))));
        ref ulong slot = ref ids[index];
        if (slot == 0) Count++;
        slot = stackId + 1;
    }

    public bool TryGet(ulong name, out ulong stackId)
    {
        stackId = 0;
        if (!TrySplit(name, out uint ring, out uint count))
            return _otherNames is not null && _otherNames.TryGetValue(name, out stackId);
        if (ring >= _rings.Length || _rings[ring] is not { } chunks) return false;
        int chunk = (int)(count >> ChunkBits);
        if (chunk >= chunks.Length || chunks[chunk] is not { } ids) return false;
        int index = (int)(count & (ChunkLength - 1));
        if (index >= ids.Length) return false;
        ulong stored = ids[index];
        if (stored == 0) return false;
        stackId = stored - 1;
        return true;
    }

    /// <summary>A writer's name: ring index (high half - 1) and count (low half).</summary>
    static bool TrySplit(ulong name, out uint ring, out uint count)
    {
        ring = (uint)(name >> 32) - 1;
        count = (uint)name;
        return ring < MaxRings;
    }
}
