namespace Profiler.Collectors.Linux.Ring;

/// <summary>How large the shared rings are through which a launched command hands its events to
/// memprof. Each writing thread has a ring of its own; only the rings threads write into take
/// memory (pages of the others are never touched).</summary>
/// <param name="RingCount">Rings: one per thread writing at a time; threads past them trap on the markers.</param>
/// <param name="RingBytes">Bytes of each ring (a power of two).</param>
public sealed record RingSizing(int RingCount, ulong RingBytes)
{
    /// <summary>Threads writing at once with a ring each. Beyond them every event traps with a
    /// stack copy into the kernel's buffer, which overflows: 200 threads allocating at once lost
    /// 7.5 M of 8 M events with 64 rings, none with 256. An unwritten ring costs no memory (the
    /// memfd is sparse); a written one up to its size (docs/DESIGN.md, Sizes).</summary>
    public const int DefaultRingCount = 256;
    /// <summary>A ring holds a few records with a whole stack copy (64 KiB each).</summary>
    public const ulong MinRingBytes = 256 * 1024;

    /// <summary>Rings at every rate: through a ring an event's stack is unwound in the process
    /// (or copied into memory memprof reads), where a marker costs a trap and puts a stack copy
    /// into the kernel's ring buffer, which a program whose stacks need copies (JIT-compiled code)
    /// overflows even at the default rate.</summary>
    /// <param name="bufferBytes">--buffer: each thread's ring (null: sized from the rate), rounded down to a power of two.</param>
    public static RingSizing For(ulong rateBytes, ulong? bufferBytes)
    {
        // Every event at --rate 1: a thread allocating millions of times a second fills 4 MiB
        // in a few milliseconds, the time memprof may need to come back to it. Sampled, a thread
        // allocating a few GB/s still samples some 100,000 times a second at the default rate.
        ulong wanted = bufferBytes ?? (rateBytes <= 1 ? 4UL << 20 : 1UL << 20);
        ulong ring = MinRingBytes;
        while (ring * 2 <= wanted) ring *= 2;
        return new RingSizing(DefaultRingCount, ring);
    }
}
