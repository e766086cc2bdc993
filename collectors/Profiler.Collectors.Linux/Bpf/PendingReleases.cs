namespace Profiler.Collectors.Linux.Bpf;

/// <summary>Probe releases still running in the background, waited for before this process exits.
/// Exiting SIGKILLs every other thread, and a thread killed inside a release makes the kernel give
/// up on it and keep the uprobe ("failed to unregister, leaking uprobe"): in a process still
/// alive (a fork of the target, say) its breakpoints would then stay, trapping for nothing.</summary>
static class PendingReleases
{
    static readonly List<Task> Running = [];

    /// <summary>A release takes one or two RCU grace periods (20–60 ms each, measured); thousands
    /// of classic links on a loaded host take seconds. The bound only covers a release that hangs.</summary>
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    static PendingReleases() => AppDomain.CurrentDomain.ProcessExit += (_, _) => WaitAll(Bound);

    public static void Add(Task release)
    {
        lock (Running)
        {
            Running.RemoveAll(r => r.IsCompleted);
            Running.Add(release);
        }
    }

    public static int Count
    {
        get { lock (Running) return Running.Count(r => !r.IsCompleted); }
    }

    public static bool WaitAll(TimeSpan bound)
    {
        Task[] all;
        lock (Running) all = [.. Running];
        try { return Task.WaitAll(all, bound); }
        catch (AggregateException) { return true; /* a release that threw has ended all the same */ }
    }
}
