using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux;

/// <summary>Gives each distinct raw stack an id; reports stacks seen for the first time.
/// A stack is known by a 128-bit hash of its addresses (XxHash128), not by a copy of them: once
/// written to the recording its frames are not needed again, and a program of deep, varied stacks
/// made the copies the recorder's largest holding (cppcheck at --rate 1: 352 k distinct stacks of
/// 28 frames on average, ~100 MB as arrays; ~15 MB as hashes). Two different stacks share a hash
/// with a probability of about n² / 2^129: for any recording, none.
/// The hashes live in one open-addressed array of (hash, id) slots, probed linearly from the
/// hash's low bits (already uniform): 24 bytes a slot at most 3/4 full, where a Dictionary kept
/// 36 bytes an entry in two arrays.</summary>
public sealed class StackInterner
{
    [StructLayout(LayoutKind.Sequential)]
    struct Slot
    {
        public UInt128 Hash;
        /// <summary>0: an empty slot (ids start at 1).</summary>
        public ulong Id;
    }

    const int InitialCapacity = 1024;
    Slot[] _slots = new Slot[InitialCapacity];
    ulong _lastId;

    public int Count { get; private set; }

    public ulong Intern(ReadOnlySpan<ulong> addresses, out bool isNew)
    {
        var hash = XxHash128.HashToUInt128(MemoryMarshal.AsBytes(addresses));
        ref Slot slot = ref Find(_slots, hash);
        isNew = slot.Id == 0;
        if (!isNew) return slot.Id;
        slot = new Slot { Hash = hash, Id = ++_lastId };
        // Grown once 3/4 full: linear probing's runs stay short below that.
        if (++Count > _slots.Length / 4 * 3) Grow();
        return _lastId;
    }

    /// <summary>The slot that holds <paramref name="hash"/>, or the empty one where it belongs.</summary>
    static ref Slot Find(Slot[] slots, UInt128 hash)
    {
        int mask = slots.Length - 1;
        int i = (int)(ulong)hash & mask;
        while (slots[i].Id != 0 && slots[i].Hash != hash) i = (i + 1) & mask;
        return ref slots[i];
    }

    void Grow()
    {
        var grown = new Slot[_slots.Length * 2];
        foreach (var slot in _slots)
            if (slot.Id != 0) Find(grown, slot.Hash) = slot;
        _slots = grown;
    }
}
