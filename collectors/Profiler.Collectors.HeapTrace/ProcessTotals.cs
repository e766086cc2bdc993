using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.HeapTrace;

/// <summary>
/// Exact totals over every heap call of one process, sampled or not. Byte counts are requested
/// sizes (the heap provider reports no usable sizes). Live bytes cover the blocks allocated since
/// tracing began, so <c>LiveBytes == AllocatedBytes − FreedBytes</c> always; frees of blocks
/// allocated before tracing are counted in <see cref="Frees"/> and <see cref="UntracedFrees"/> only.
/// </summary>
public sealed class ProcessTotals(uint pid)
{
    public uint Pid { get; } = pid;
    public ulong Allocations { get; private set; }
    public ulong AllocatedBytes { get; private set; }
    public ulong Frees { get; private set; }
    public ulong FreedBytes { get; private set; }
    public long LiveBytes { get; private set; }
    public long PeakLiveBytes { get; private set; }
    public long PeakTimeNanos { get; private set; }
    public ulong UntracedFrees { get; private set; }

    /// <summary>Changed since the last <see cref="ToCounters"/>.</summary>
    public bool Dirty { get; private set; }

    public void Allocated(ulong size, long timeNanos)
    {
        Allocations++;
        AllocatedBytes += size;
        LiveBytes += (long)size;
        if (LiveBytes > PeakLiveBytes) { PeakLiveBytes = LiveBytes; PeakTimeNanos = timeNanos; }
        Dirty = true;
    }

    public void Freed(ulong size)
    {
        Frees++;
        FreedBytes += size;
        LiveBytes -= (long)size;
        Dirty = true;
    }

    public void FreedUntraced()
    {
        Frees++;
        UntracedFrees++;
        Dirty = true;
    }

    /// <param name="sawEveryBlock">Tracing began before the process's first allocation, so the
    /// live bytes are the whole heap's — unless a free of an unknown block proved otherwise.</param>
    public HeapCounters ToCounters(long timeNanos, bool sawEveryBlock)
    {
        Dirty = false;
        return new HeapCounters
        {
            Pid = Pid, TimeNanos = timeNanos, Allocations = Allocations, AllocatedBytes = AllocatedBytes,
            Frees = Frees, FreedBytes = FreedBytes, LiveBytesKnown = sawEveryBlock && UntracedFrees == 0,
            LiveBytes = LiveBytes, PeakLiveBytes = PeakLiveBytes, PeakTimeNanos = PeakTimeNanos,
        };
    }
}
