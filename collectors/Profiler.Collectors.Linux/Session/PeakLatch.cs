namespace Profiler.Collectors.Linux.Session;

/// <summary>The peak memprof records for a process from its sampler's counters, one read at a time.</summary>
public static class PeakLatch
{
    /// <summary>The peak so far after one read of the library's counters: its own peak, or a higher
    /// live figure this read saw. The library publishes a new peak's height before its time (two
    /// stores a reader may fall between), so a read can pair the new height with the previous
    /// peak's time; the same height read again with a later time is that peak's true time.</summary>
    public static (long Bytes, long Time) After((long Bytes, long Time) peak, long libraryPeak, long? libraryPeakTime, long live, long now)
    {
        if (libraryPeakTime is { } time && (libraryPeak > peak.Bytes || (libraryPeak == peak.Bytes && time > peak.Time)))
            peak = (libraryPeak, time);
        if (live > peak.Bytes) peak = (live, now);
        return peak;
    }
}
