using System.Buffers.Binary;

namespace Profiler.Collectors.Linux.Preload;

/// <summary>Exact totals the preload library keeps in a process (summed over its threads' slots).</summary>
/// <param name="LiveUsable">glibc usable bytes live now (exact at the moment of the read).</param>
/// <param name="FlushedPeakUsable">The highest live bytes the library saw as its threads flushed
/// their running counts: low by at most 64 KiB per thread.</param>
public readonly record struct PreloadTotals(ulong Allocations, ulong AllocatedBytes, ulong Frees, ulong FreedUsable,
    long LiveUsable, long FlushedPeakUsable, ulong PeakTimeNanos, ulong UntrackedSamples);

/// <summary>Decodes struct memprof_preload_state (collectors/preload/memprof_preload.h).</summary>
public static class PreloadState
{
    public const ulong Magic = 0x314c5250464d454dUL;
    public const int Slots = 1024;
    public const int HeaderSize = 128;
    public const int SlotSize = 64;
    public const int Size = HeaderSize + Slots * SlotSize;

    /// <summary>Null when the bytes are not an initialized state (the library has not run yet).</summary>
    public static PreloadTotals? Decode(ReadOnlySpan<byte> state)
    {
        if (state.Length < Size || U64(state, 0) != Magic) return null;
        int slotCount = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(state[12..]), Slots);
        long baseLive = (long)U64(state, 24);
        long flushedPeak = (long)U64(state, 40);
        ulong peakTime = U64(state, 48);
        ulong untracked = U64(state, 56);
        ulong allocations = 0, bytes = 0, allocatedUsable = 0, frees = 0, freedUsable = 0;
        for (int i = 0; i < slotCount; i++)
        {
            var slot = state.Slice(HeaderSize + i * SlotSize, SlotSize);
            allocations += U64(slot, 0);
            bytes += U64(slot, 8);
            allocatedUsable += U64(slot, 16);
            frees += U64(slot, 24);
            freedUsable += U64(slot, 32);
        }
        long live = baseLive + (long)(allocatedUsable - freedUsable);
        return new PreloadTotals(allocations, bytes, frees, freedUsable, live, flushedPeak, peakTime, untracked);
    }

    static ulong U64(ReadOnlySpan<byte> bytes, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(bytes[offset..]);
}
