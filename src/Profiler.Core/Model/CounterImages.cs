using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Model;

/// <summary>
/// A process's counters over all its images. The preload library's state is new in each image an
/// exec brings, so its cumulative counters start from zero again: when they go backwards across
/// an exec, the earlier image's last values become a base added to every later one. Live bytes
/// restart with the new image's own (the old heap is gone); the peak is the highest of any image.
/// </summary>
static class CounterImages
{
    /// <param name="cutoff">memprof's launcher: its counters before it exec'd the command are not the command's.</param>
    public static List<HeapCounterSample> Join(IEnumerable<HeapCounters> counters, IReadOnlyList<ProcessExec> execs,
        (uint Pid, long TimeNanos)? cutoff)
    {
        var result = new List<HeapCounterSample>();
        foreach (var process in counters.GroupBy(c => c.Pid))
        {
            var execTimes = execs.Where(x => x.Pid == process.Key).Select(x => x.TimeNanos).ToList();
            HeapCounters? previous = null;
            ulong allocations = 0, allocated = 0, frees = 0, freed = 0;
            (long Bytes, long Time) peak = (0, 0);
            foreach (var c in process.OrderBy(c => c.TimeNanos))
            {
                if (cutoff is { } cut && c.Pid == cut.Pid && c.TimeNanos < cut.TimeNanos) continue;
                if (previous is not null && WentBack(previous, c) && execTimes.Any(t => t > previous.TimeNanos && t <= c.TimeNanos))
                {
                    allocations += previous.Allocations;
                    allocated += previous.AllocatedBytes;
                    frees += previous.Frees;
                    freed += previous.FreedBytes;
                }
                if (c.PeakLiveBytes > peak.Bytes) peak = (c.PeakLiveBytes, c.PeakTimeNanos);
                previous = c;
                result.Add(new HeapCounterSample(c.Pid, c.TimeNanos, allocations + c.Allocations, allocated + c.AllocatedBytes,
                    frees + c.Frees, freed + c.FreedBytes, c.LiveBytesKnown, c.LiveBytes, peak.Bytes, peak.Time));
            }
        }
        return result.OrderBy(c => c.TimeNanos).ToList();
    }

    static bool WentBack(HeapCounters before, HeapCounters after) =>
        after.Allocations < before.Allocations || after.AllocatedBytes < before.AllocatedBytes ||
        after.Frees < before.Frees || after.FreedBytes < before.FreedBytes;
}
