namespace Profiler.Collectors.Linux.Ring;

/// <summary>Whether a launched command hands its events to memprof through shared rings, and how
/// large they are. Each writing thread has a ring of its own; only the rings threads write into
/// take memory (pages of the others are never touched).</summary>
/// <param name="RingCount">Rings: one per thread writing at a time; threads past them trap on the markers.</param>
/// <param name="RingBytes">Bytes of each ring (a power of two).</param>
public sealed record RingSizing(int RingCount, ulong RingBytes)
{
    /// <summary>At and below this rate events go through the rings: at 64 KiB a busy allocator
    /// (100 MB/s) makes ~1,500 samples a second, where traps already cost more than the copies.</summary>
    public const ulong MaxRateBytes = 64 * 1024;
    public const int DefaultRingCount = 64;
    /// <summary>A ring holds a few records with a whole stack copy (64 KiB each).</summary>
    public const ulong MinRingBytes = 256 * 1024;

    /// <summary>Null when events go to the markers (sampling rates above <see cref="MaxRateBytes"/>).</summary>
    /// <param name="bufferBytes">--buffer: each thread's ring (null: sized from the rate), rounded down to a power of two.</param>
    public static RingSizing? For(ulong rateBytes, ulong? bufferBytes)
    {
        if (rateBytes > MaxRateBytes) return null;
        // Every event at --rate 1: a thread allocating millions of times a second fills 4 MiB
        // in a few milliseconds, the time memprof may need to come back to it.
        ulong wanted = bufferBytes ?? (rateBytes <= 1 ? 4UL << 20 : 1UL << 20);
        ulong ring = MinRingBytes;
        while (ring * 2 <= wanted) ring *= 2;
        return new RingSizing(DefaultRingCount, ring);
    }
}
