using System.Diagnostics;

namespace Profiler.Collectors.Windows;

/// <summary>
/// The recording's clock: QueryPerformanceCounter ticks, which TraceEvent sessions stamp events
/// with (and <see cref="Stopwatch"/> reads on Windows), as nanoseconds after the recording origin.
/// The conversion is exact integer arithmetic, so an event and the stack walk that names it by
/// its timestamp always land on the same nanosecond.
/// </summary>
public readonly record struct QpcClock(long OriginTicks, long TicksPerSecond)
{
    public static QpcClock StartingNow() => new(Stopwatch.GetTimestamp(), Stopwatch.Frequency);

    public long ToNanos(long ticks) => (long)((Int128)(ticks - OriginTicks) * 1_000_000_000 / TicksPerSecond);

    public long NowNanos() => ToNanos(Stopwatch.GetTimestamp());
}
