using System.Numerics;
using System.Runtime.Intrinsics.X86;

namespace Profiler.Core.Analysis;

/// <summary>
/// The live blocks while pairing frees with allocations: (process, address) → the allocation's
/// event index. Open addressing with linear probing and backward-shift deletion, entries inline:
/// ten million inserts and removes cost a fraction of what a Dictionary with tuple keys does.
/// </summary>
sealed class LiveBlockMap
{
    struct Entry
    {
        public ulong Address;
        public uint Pid;
        /// <summary>The event index plus one; zero marks a free slot.</summary>
        public int ValuePlusOne;
    }

    Entry[] _entries;
    int _mask;
    int _shift;
    public LiveBlockMap(int capacityHint = 1 << 16)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacityHint * 2));
        _entries = new Entry[size];
        _mask = size - 1;
        _shift = 64 - BitOperations.Log2((uint)size);
    }

    public int Count { get; private set; }

    int SlotOf(uint pid, ulong address) =>
        (int)(((address ^ ((ulong)pid << 40) ^ pid) * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>Starts loading the key's slot into the cache: pairing knows its keys ahead, and a
    /// table of a million blocks misses the cache on nearly every access.</summary>
    public unsafe void Prefetch(uint pid, ulong address)
    {
        if (!Sse.IsSupported) return;
        fixed (Entry* entry = &_entries[SlotOf(pid, address)]) Sse.Prefetch0(entry);
    }

    /// <summary>Adds or replaces the block's allocation.</summary>
    /// <returns>Whether a live block at that address was replaced.</returns>
    public bool Set(uint pid, ulong address, int value) => Set(pid, address, value, out _);

    /// <param name="previous">The value of the live block replaced, or -1.</param>
    public bool Set(uint pid, ulong address, int value, out int previous)
    {
        previous = -1;
        if (Count >= (_entries.Length >> 1)) Grow();
        var entries = _entries;
        int slot = SlotOf(pid, address);
        while (true)
        {
            ref var e = ref entries[slot];
            if (e.ValuePlusOne == 0)
            {
                e.Address = address;
                e.Pid = pid;
                e.ValuePlusOne = value + 1;
                Count++;
                return false;
            }
            if (e.Address == address && e.Pid == pid)
            {
                previous = e.ValuePlusOne - 1;
                e.ValuePlusOne = value + 1;
                return true;
            }
            slot = (slot + 1) & _mask;
        }
    }

    public bool Remove(uint pid, ulong address, out int value)
    {
        var entries = _entries;
        int slot = SlotOf(pid, address);
        while (true)
        {
            ref var e = ref entries[slot];
            if (e.ValuePlusOne == 0) { value = -1; return false; }
            if (e.Address == address && e.Pid == pid) break;
            slot = (slot + 1) & _mask;
        }
        value = entries[slot].ValuePlusOne - 1;
        Count--;
        // Shift later entries of the probe run back into the hole, so no tombstones build up.
        int hole = slot;
        int next = (hole + 1) & _mask;
        while (entries[next].ValuePlusOne != 0)
        {
            int home = SlotOf(entries[next].Pid, entries[next].Address);
            // The entry may move to the hole unless its home lies cyclically in (hole, next].
            bool stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (!stays)
            {
                entries[hole] = entries[next];
                hole = next;
            }
            next = (next + 1) & _mask;
        }
        entries[hole] = default;
        return true;
    }

    void Grow()
    {
        var old = _entries;
        _entries = new Entry[old.Length * 2];
        _mask = _entries.Length - 1;
        _shift--;
        Count = 0;
        foreach (var e in old)
            if (e.ValuePlusOne != 0) Set(e.Pid, e.Address, e.ValuePlusOne - 1);
    }
}
