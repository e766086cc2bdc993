namespace Profiler.Viewer.ViewModels;

/// <summary>A closed interval of recording time, in nanoseconds since the recording began.</summary>
public readonly record struct TimeRange(long StartNanos, long EndNanos)
{
    public bool Contains(long timeNanos) => timeNanos >= StartNanos && timeNanos <= EndNanos;

    public static TimeRange Between(long a, long b) => a <= b ? new(a, b) : new(b, a);
}
