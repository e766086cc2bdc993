namespace Profiler.Collectors.Linux.Inject;

/// <param name="UnderSeccompFilter">Load into a process that runs under a seccomp filter. The
/// filter is not read: a system call of the load it forbids could kill the process.</param>
public sealed record RemoteLoaderOptions(TimeSpan SafePointTimeout, TimeSpan CallTimeout, int Threads, bool UnderSeccompFilter = false)
{
    /// <summary>2 s for a thread to reach a safe point, 10 s for dlopen to return, eight threads watched
    /// (watching costs a thread nothing until it is let go: one stop).</summary>
    public static readonly RemoteLoaderOptions Default = new(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), 8);
}

/// <summary>What a remote load did.</summary>
/// <param name="Loaded">The library is in the process (loaded now, or found already there).</param>
/// <param name="AlreadyLoaded">It was mapped before: nothing was done.</param>
/// <param name="Failure">Why not, in one line (null when loaded).</param>
/// <param name="Handle">dlopen's handle (0 when not loaded now).</param>
/// <param name="Tid">The thread that ran the load.</param>
/// <param name="SafePoint">Where that thread was caught ("malloc called from app").</param>
/// <param name="ToSafePoint">From the start of the watch (arming included) to the safe point.</param>
/// <param name="Arming">Seizing the watched threads and opening the probe.</param>
/// <param name="Call">From the thread's resumption into the stub to dlopen's return.</param>
/// <param name="Rejected">Threads caught at an allocator's entry that were not safe points, and why.</param>
/// <param name="CallStops">How often the thread stopped during the call (1: only at the stub's marker).</param>
/// <param name="Notes">Anything unusual on the way (a thread slow to stop).</param>
public sealed record RemoteLoadResult(
    bool Loaded,
    bool AlreadyLoaded,
    string? Failure,
    ulong Handle = 0,
    int Tid = 0,
    string? SafePoint = null,
    TimeSpan ToSafePoint = default,
    TimeSpan Call = default,
    TimeSpan Total = default,
    IReadOnlyList<string>? Rejected = null,
    int CallStops = 0,
    IReadOnlyList<string>? Notes = null,
    TimeSpan Arming = default)
{
    public static RemoteLoadResult Failed(string reason, IReadOnlyList<string>? rejected = null) => new(false, false, reason, Rejected: rejected);
}
