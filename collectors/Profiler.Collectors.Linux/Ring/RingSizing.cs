namespace Profiler.Collectors.Linux.Ring;

/// <summary>Whether a launched command hands its events to memprof through shared rings, and how
/// large they are.</summary>
/// <param name="RingCount">Rings: one per thread writing at a time; threads past them trap on the markers.</param>
/// <param name="RingBytes">Bytes of each ring (a power of two).</param>
public sealed record RingSizing(int RingCount, ulong RingBytes)
{
    /// <summary>At and below this rate events go through the rings: at 64 KiB a busy allocator
    /// (100 MB/s) makes ~1,500 samples a second, where traps already cost more than the copies.</summary>
    public const ulong MaxRateBytes = 64 * 1024;
    public const int DefaultRingCount = 64;
    /// <summary>A ring holds at least a few records with a whole stack copy (64 KiB each).</summary>
    public const ulong MinRingBytes = 256 * 1024;

    public ulong TotalBytes => (ulong)RingCount * RingBytes;

    /// <summary>Null when events go to the markers (sampling rates above <see cref="MaxRateBytes"/>).</summary>
    /// <param name="bufferBytes">--buffer: the rings' bytes in all (null: sized from the rate).</param>
    public static RingSizing? For(ulong rateBytes, ulong? bufferBytes)
    {
        if (rateBytes > MaxRateBytes) return null;
        // Every event at --rate 1: memprof may be a few milliseconds behind a program that
        // allocates millions of times a second; at sampled rates events are fewer.
        ulong total = bufferBytes ?? (rateBytes <= 1 ? 64UL << 20 : rateBytes <= 4096 ? 32UL << 20 : 16UL << 20);
        int count = DefaultRingCount;
        ulong per = total / (ulong)count;
        // Fewer rings rather than rings too small for a record.
        while (per < MinRingBytes && count > 4)
        {
            count /= 2;
            per = total / (ulong)count;
        }
        ulong ring = MinRingBytes;
        while (ring * 2 <= per) ring *= 2;
        return new RingSizing(count, ring);
    }
}
