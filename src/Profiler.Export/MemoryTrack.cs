using Profiler.Core.Analysis;

namespace Profiler.Export;

/// <summary>One sample of a Firefox Memory track: the change since the previous sample.</summary>
public readonly record struct MemoryTrackSample(long TimeNanos, long DeltaBytes, long Operations);

/// <summary>A heap timeline thinned to a Memory track's samples.</summary>
public static class MemoryTrack
{
    /// <summary>About 10,000 samples over the recording keep the track smooth and the file small.</summary>
    public static long BucketNanos(long durationNanos) => Math.Max(100_000, durationNanos / 10_000);

    /// <summary>
    /// The last point of each time bucket, and the peak point too when a bucket holds it, so the
    /// track reaches the peak's height at its time. Deltas are against the previous sample; the
    /// first is against an empty heap.
    /// </summary>
    public static List<MemoryTrackSample> From(HeapTimeline timeline, long bucketNanos)
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
        return samples;
    }

    static long Bucket(long timeNanos, long bucketNanos) => Math.DivRem(timeNanos, bucketNanos, out long rem) - (rem < 0 ? 1 : 0);
}
