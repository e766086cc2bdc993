using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Model;

/// <summary>
/// An exec replaces a process's image: every block still live in the old one is gone at that
/// moment, with no free call. The model gets a free event for each of them at the exec's time
/// (function <see cref="AllocFunction.ExecRelease"/>), so they count as freed, not as leaked or
/// retained to the end.
/// </summary>
static class ExecReleases
{
    /// <param name="Position">Where in the time-ordered events the free goes (before that one).</param>
    /// <param name="Allocation">The recording index of the allocation it releases.</param>
    public readonly record struct Release(int Position, long TimeNanos, int Allocation);

    /// <summary>The blocks live at an exec of their process.</summary>
    /// <param name="order">The kept events' recording indices in time order; null: all, in recording order.</param>
    public static List<Release> Find(EventColumns ev, int[]? order, IReadOnlyList<ProcessExec> execs)
    {
        var result = new List<Release>();
        int n = order?.Length ?? ev.Count;
        var firstTime = FirstTimes(ev, order, n);
        // Only an exec after some event of its process can release anything: in the common case
        // (a launched command's one exec, from memprof's launcher) nothing is tracked at all.
        var relevant = execs.Where(x => firstTime.TryGetValue(x.Pid, out long t) && t < x.TimeNanos)
            .OrderBy(x => x.TimeNanos).ToList();
        if (relevant.Count == 0) return result;
        var lastExec = relevant.GroupBy(x => x.Pid).ToDictionary(g => g.Key, g => g.Max(x => x.TimeNanos));
        var live = new Dictionary<(uint Pid, ulong Address), int>();
        int next = 0;
        for (int k = 0; k < n; k++)
        {
            int e = order?[k] ?? k;
            long time = ev.TimeNanos[e];
            while (next < relevant.Count && relevant[next].TimeNanos <= time) Flush(relevant[next++], k);
            uint pid = ev.Pid[e];
            if (!lastExec.TryGetValue(pid, out long last) || time >= last) continue;
            if (ev.Kind[e] == EventKind.Alloc) live[(pid, ev.Address[e])] = e;
            else if (ev.Kind[e] == EventKind.Free) live.Remove((pid, ev.Address[e]));
        }
        while (next < relevant.Count) Flush(relevant[next++], n);
        return result;

        void Flush(ProcessExec exec, int position)
        {
            var gone = live.Where(kv => kv.Key.Pid == exec.Pid).Select(kv => kv.Value).Order().ToList();
            foreach (int a in gone)
            {
                live.Remove((exec.Pid, ev.Address[a]));
                result.Add(new Release(position, exec.TimeNanos, a));
            }
        }
    }

    /// <summary>The execs after an event of their process: each replaced an image that allocated.</summary>
    /// <param name="first">Each process's first event's time.</param>
    public static List<ReplacedImage> Replaced(IReadOnlyDictionary<uint, long> first, IReadOnlyList<ProcessExec> execs) =>
        execs.Where(x => first.TryGetValue(x.Pid, out long t) && t < x.TimeNanos)
            .OrderBy(x => x.TimeNanos).Select(x => new ReplacedImage(x.Pid, x.TimeNanos)).ToList();

    static Dictionary<uint, long> FirstTimes(EventColumns ev, int[]? order, int n)
    {
        var first = new Dictionary<uint, long>();
        uint previous = 0;
        for (int k = 0; k < n; k++)
        {
            int e = order?[k] ?? k;
            uint pid = ev.Pid[e];
            // Runs of one process are common; its first time is already known within a run.
            if (k > 0 && pid == previous) continue;
            previous = pid;
            if (!first.TryGetValue(pid, out long t) || ev.TimeNanos[e] < t) first[pid] = ev.TimeNanos[e];
        }
        return first;
    }

    /// <summary>The events with the releases' frees added after them, and the new time order.</summary>
    public static (EventColumns Events, int[] Order) Insert(EventColumns ev, int[]? order, List<Release> releases)
    {
        // A selection is exactly full, so the first event added moves it to new arrays: ev stays as it is.
        var all = ev.Select(null);
        int n = order?.Length ?? ev.Count;
        var merged = new int[n + releases.Count];
        int r = 0, m = 0;
        for (int k = 0; k <= n; k++)
        {
            for (; r < releases.Count && releases[r].Position == k; r++)
            {
                var release = releases[r];
                int a = release.Allocation;
                // A free carries the weight of the allocation it releases; it has no stack of its own.
                all.Add(new RawEvent(EventKind.Free, release.TimeNanos, ev.Pid[a], ev.Pid[a], ev.Address[a], 0, ev.Weight[a], 0,
                    AllocFunction.ExecRelease));
                merged[m++] = all.Count - 1;
            }
            if (k < n) merged[m++] = order?[k] ?? k;
        }
        return (all, merged);
    }
}
