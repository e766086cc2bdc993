using Profiler.Core.Analysis;

namespace Profiler.Export;

/// <summary>One sample of a Firefox Memory track: the change since the previous sample, and the
/// allocator calls that made it.</summary>
public readonly record struct MemoryTrackSample(long TimeNanos, long DeltaBytes, long Operations);

/// <summary>A heap timeline thinned to a Memory track's samples.</summary>
public static class MemoryTrack
{
    /// <summary>About 10,000 samples over the recording keep the track smooth and the file small.</summary>
    public static long BucketNanos(long durationNanos) => Math.Max(100_000, durationNanos / 10_000);

    /// <summary>
    /// The last point of each time bucket, and the peak point too when a bucket holds it, so the
    /// track reaches the peak's height at its time. Deltas are against the previous sample; the
    /// first is against an empty heap at <paramref name="startNanos"/>. Every sample whose bytes
    /// changed counts at least one call (see <see cref="SpreadUncountedChanges"/>).
    /// </summary>
    public static List<MemoryTrackSample> From(HeapTimeline timeline, long bucketNanos, long startNanos = 0)
    {
        var samples = new List<MemoryTrackSample>();
        var points = timeline.Points;
        long live = 0, operations = 0;
        bool peakShown = false;
        void Emit(HeapPoint p)
        {
            samples.Add(new MemoryTrackSample(p.TimeNanos, p.LiveBytes - live, Math.Max(0, p.Operations - operations)));
            (live, operations) = (p.LiveBytes, p.Operations);
        }
        for (int i = 0; i < points.Count; i++)
        {
            var point = points[i];
            bool lastOfBucket = i + 1 == points.Count || Bucket(points[i + 1].TimeNanos, bucketNanos) != Bucket(point.TimeNanos, bucketNanos);
            bool isPeak = !peakShown && point.LiveBytes == timeline.PeakBytes && point.TimeNanos == timeline.PeakTimeNanos;
            if (!lastOfBucket && !isPeak) continue;
            Emit(point);
            peakShown |= isPeak;
        }
        SpreadUncountedChanges(samples, startNanos);
        return samples;
    }

    /// <summary>
    /// The exact counters are read every 100 ms, but the peak between two reads comes with its
    /// height and time only, not with how many calls led up to it: its point shows bytes changed
    /// and no call counted, and the next read counts the calls of both stretches. Such a run of
    /// samples shares the calls the read that ends it counted, in proportion to the time each
    /// covers, and at least one each where the bytes changed (a change takes a call), so the
    /// total stays the counters'. A run that no later count ends (inconsistent input) gets the
    /// one call each that its changes prove.
    /// </summary>
    static void SpreadUncountedChanges(List<MemoryTrackSample> samples, long startNanos)
    {
        int runStart = 0;
        for (int i = 0; i < samples.Count; i++)
        {
            if (samples[i].Operations == 0 && i + 1 < samples.Count) continue;
            long from = runStart > 0 ? samples[runStart - 1].TimeNanos : Math.Min(startNanos, samples[0].TimeNanos);
            Spread(samples, runStart, i, from);
            runStart = i + 1;
        }
    }

    /// <summary>Shares the calls counted at <paramref name="last"/> over samples first..last,
    /// which cover the time from <paramref name="fromNanos"/> to the last one's.</summary>
    static void Spread(List<MemoryTrackSample> samples, int first, int last, long fromNanos)
    {
        long calls = samples[last].Operations;
        double span = samples[last].TimeNanos - fromNanos;
        int changesAhead = 0;
        for (int k = first; k <= last; k++)
            if (samples[k].DeltaBytes != 0) changesAhead++;
        long left = calls;
        long previous = fromNanos;
        for (int k = first; k < last; k++)
        {
            var sample = samples[k];
            bool changed = sample.DeltaBytes != 0;
            if (changed) changesAhead--;
            long share = span > 0
                ? (long)Math.Round(calls * ((sample.TimeNanos - previous) / span), MidpointRounding.AwayFromZero)
                : calls / (last - first + 1);
            share = Math.Max(Math.Min(share, left - changesAhead), changed ? 1 : 0);
            left -= share;
            samples[k] = sample with { Operations = share };
            previous = sample.TimeNanos;
        }
        samples[last] = samples[last] with { Operations = Math.Max(left, samples[last].DeltaBytes != 0 ? 1 : 0) };
    }

    static long Bucket(long timeNanos, long bucketNanos) => Math.DivRem(timeNanos, bucketNanos, out long rem) - (rem < 0 ? 1 : 0);
}
