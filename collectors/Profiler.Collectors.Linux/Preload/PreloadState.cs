using System.Buffers.Binary;

namespace Profiler.Collectors.Linux.Preload;

/// <summary>Exact totals the sampler keeps in a process (summed over its threads' slots), from
/// where counting started: the process's start, its fork, or the last attach request applied.</summary>
/// <param name="LiveUsable">Usable bytes live now (exact at the moment of the read when the
/// library counts from the process's start; from an attach, the base is the allocators' own
/// figure, see <see cref="PreloadFlags"/>).</param>
/// <param name="FlushedPeakUsable">The highest live bytes the library saw as its threads flushed
/// their running counts: low by at most 64 KiB per thread.</param>
public readonly record struct PreloadTotals(ulong Allocations, ulong AllocatedBytes, ulong Frees, ulong FreedUsable,
    long LiveUsable, long FlushedPeakUsable, ulong PeakTimeNanos, ulong UntrackedSamples)
{
    /// <summary>What the library said about its counts when the last attach request was applied.</summary>
    public PreloadFlags Flags { get; init; }
}

/// <summary>memprof_preload_state.flags (collectors/preload/memprof_preload.h).</summary>
[Flags]
public enum PreloadFlags : uint
{
    None = 0,
    /// <summary>The injectable build (libmemprof_inject.so).</summary>
    Injected = 1,
    /// <summary>A forwarding table has no usable-size function: live bytes are not exact.</summary>
    UsableUnknown = 2,
    /// <summary>An allocator could not tell its live heap: the base leaves it out.</summary>
    BaseUnknown = 4,
}

/// <summary>The header of the state: who the library is and where the attach protocol stands.</summary>
/// <param name="Rate">The mean sampling interval in effect now.</param>
/// <param name="AppliedGeneration">The last attach request carried out (0: none).</param>
public readonly record struct PreloadHeader(uint Version, ulong Rate, ulong RequestedRate, ulong RequestedGeneration,
    ulong AppliedGeneration, PreloadFlags Flags, int TableCount)
{
    /// <summary>Version-1 libraries have no attach protocol: their rate cannot be changed.</summary>
    public bool CanBeReset => Version != 1;
    public bool RequestPending => RequestedGeneration != AppliedGeneration;
}

/// <summary>Decodes struct memprof_preload_state (collectors/preload/memprof_preload.h); the
/// offsets are checked against the C compiler's by PreloadStateTests.</summary>
public static class PreloadState
{
    public const ulong Magic = 0x314c5250464d454dUL;
    public const uint Version = 2;
    public const int Slots = 1024;
    public const int Tables = 4;

    // struct memprof_preload_state
    public const int VersionOffset = 8;
    public const int SlotCountOffset = 12;
    public const int RateOffset = 16;
    public const int BaseLiveOffset = 24;
    public const int PeakLiveOffset = 40;
    public const int PeakTimeOffset = 48;
    public const int UntrackedOffset = 56;
    public const int RequestedRateOffset = 64;
    public const int RequestedGenerationOffset = 72;
    public const int AppliedGenerationOffset = 80;
    public const int FlagsOffset = 88;
    public const int TableCountOffset = 92;
    /// <summary>start_allocations, start_allocated_bytes, start_allocated_usable, start_frees, start_freed_usable.</summary>
    public const int StartSumsOffset = 96;
    public const int StartTimeOffset = 136;
    public const int TablesOffset = 192;
    public const int TableSize = 192;
    /// <summary>Everything before the slots (the header and the forwarding tables).</summary>
    public const int HeaderSize = TablesOffset + Tables * TableSize;
    public const int SlotSize = 64;
    public const int Size = HeaderSize + Slots * SlotSize;
    /// <summary>Where the slots began before the attach protocol (version 1).</summary>
    const int Version1HeaderSize = 128;

    /// <summary>Null when the bytes are not an initialized state (the library has not run yet).</summary>
    public static PreloadTotals? Decode(ReadOnlySpan<byte> state)
    {
        if (state.Length < Size || DecodeHeader(state) is not { } header) return null;
        int slotCount = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(state[SlotCountOffset..]), Slots);
        long baseLive = (long)U64(state, BaseLiveOffset);
        long flushedPeak = (long)U64(state, PeakLiveOffset);
        ulong peakTime = U64(state, PeakTimeOffset);
        ulong untracked = U64(state, UntrackedOffset);
        // Sums only grow; what this recording counts starts at the sums taken when its request was applied.
        ulong allocations = 0, bytes = 0, allocatedUsable = 0, frees = 0, freedUsable = 0;
        bool version1 = header.Version == 1;
        int slots = version1 ? Version1HeaderSize : HeaderSize;
        if (!version1)
        {
            allocations = 0 - U64(state, StartSumsOffset);
            bytes = 0 - U64(state, StartSumsOffset + 8);
            allocatedUsable = 0 - U64(state, StartSumsOffset + 16);
            frees = 0 - U64(state, StartSumsOffset + 24);
            freedUsable = 0 - U64(state, StartSumsOffset + 32);
        }
        for (int i = 0; i < slotCount; i++)
        {
            var slot = state.Slice(slots + i * SlotSize, SlotSize);
            allocations += U64(slot, 0);
            bytes += U64(slot, 8);
            allocatedUsable += U64(slot, 16);
            frees += U64(slot, 24);
            freedUsable += U64(slot, 32);
        }
        long live = baseLive + (long)(allocatedUsable - freedUsable);
        return new PreloadTotals(allocations, bytes, frees, freedUsable, live, flushedPeak, peakTime, untracked) { Flags = header.Flags };
    }

    /// <summary>The first <see cref="HeaderSize"/> bytes (or more); null before the library has set
    /// itself up. A version-1 library has none of the attach fields: they read as zero.</summary>
    public static PreloadHeader? DecodeHeader(ReadOnlySpan<byte> state)
    {
        if (state.Length < RequestedRateOffset || U64(state, 0) != Magic) return null;
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(state[VersionOffset..]);
        ulong rate = U64(state, RateOffset);
        if (version == 1 || state.Length < StartSumsOffset) return new PreloadHeader(version, rate, 0, 0, 0, PreloadFlags.None, 0);
        return new PreloadHeader(version, rate, U64(state, RequestedRateOffset), U64(state, RequestedGenerationOffset),
            U64(state, AppliedGenerationOffset), (PreloadFlags)BinaryPrimitives.ReadUInt32LittleEndian(state[FlagsOffset..]),
            (int)BinaryPrimitives.ReadUInt32LittleEndian(state[TableCountOffset..]));
    }

    static ulong U64(ReadOnlySpan<byte> bytes, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(bytes[offset..]);
}
