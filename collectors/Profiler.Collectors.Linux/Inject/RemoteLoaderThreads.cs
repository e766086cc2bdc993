namespace Profiler.Collectors.Linux.Inject;

/// <summary>One thread as /proc/PID/task/TID/stat shows it.</summary>
/// <param name="CpuTicks">User and system time so far, in clock ticks.</param>
public readonly record struct RemoteLoaderThread(int Tid, char State, ulong CpuTicks);

/// <summary>Which threads to watch for a safe point: the busiest ones, since a thread that runs
/// is the one that calls the allocator soon; a thread that sleeps would only be woken for
/// nothing.</summary>
public static class RemoteLoaderThreads
{
    /// <summary>At most <paramref name="count"/> threads, those that used the most CPU between the
    /// two snapshots first, then those with the most CPU time overall. Stopped and exiting
    /// threads are left alone, and so are threads in an uninterruptible wait (they would not
    /// stop to have their debug registers set).</summary>
    public static IReadOnlyList<int> Choose(IReadOnlyList<RemoteLoaderThread> before, IReadOnlyList<RemoteLoaderThread> after, int count)
    {
        var earlier = before.ToDictionary(t => t.Tid, t => t.CpuTicks);
        return after
            .Where(t => t.State is not ('Z' or 'X' or 'x' or 'T' or 't' or 'D'))
            .OrderByDescending(t => earlier.TryGetValue(t.Tid, out var was) && t.CpuTicks >= was ? t.CpuTicks - was : 0)
            .ThenByDescending(t => t.State == 'R')
            .ThenByDescending(t => t.CpuTicks)
            .ThenBy(t => t.Tid)
            .Take(count)
            .Select(t => t.Tid)
            .ToList();
    }

    /// <summary>Parses a thread's stat line (the command may hold spaces and parentheses).</summary>
    public static RemoteLoaderThread? Parse(int tid, string stat)
    {
        int close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 >= stat.Length) return null;
        var fields = stat[(close + 2)..].Split(' ');
        // After the command: state is field 3 of stat; utime and stime are 14 and 15.
        if (fields.Length < 13 || !ulong.TryParse(fields[11], out var user) || !ulong.TryParse(fields[12], out var system)) return null;
        return new RemoteLoaderThread(tid, fields[0][0], user + system);
    }
}
