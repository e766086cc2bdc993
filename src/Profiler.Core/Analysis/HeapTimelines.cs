using System.Runtime.InteropServices;
using Profiler.Core.Model;

namespace Profiler.Core.Analysis;

/// <summary>
/// The live heap over time of each process and of all together. A process whose collector kept
/// exact counters gets its timeline from them (every allocator call, with the exact peak);
/// otherwise it comes from the recorded events — exact at sampling rate 1, an estimate otherwise.
/// </summary>
public sealed class HeapTimelines
{
    public required IReadOnlyList<HeapTimeline> Processes { get; init; }
    /// <summary>The processes' live bytes summed; its peak is the highest sum at any point.</summary>
    public required HeapTimeline Overall { get; init; }

    public HeapTimeline? Of(uint pid) => Processes.FirstOrDefault(p => p.Pid == pid);

    /// <param name="pid">Only this process, when given.</param>
    public static HeapTimelines Compute(ProfileModel model, HeapAnalysis heap, uint? pid = null)
    {
        var pids = model.Processes.Select(p => p.Pid).Concat(model.Counters.Select(c => c.Pid))
            .Where(p => pid is null || p == pid).Distinct().Order().ToList();
        var counters = model.Counters.Where(c => pid is null || c.Pid == pid)
            .GroupBy(c => c.Pid).ToDictionary(g => g.Key, g => g.OrderBy(c => c.TimeNanos).ToList());
        // Only processes without usable counters take their timeline from the events.
        bool needEvents = pids.Any(p => counters.GetValueOrDefault(p) is not { Count: > 0 } samples || !samples[^1].LiveBytesKnown);
        var fromEvents = needEvents ? EventTimelines(model.Events, heap, pid) : [];
        var times = model.Events.TimeNanos;

        var processes = new List<HeapTimeline>(pids.Count);
        foreach (var p in pids)
        {
            var samples = counters.GetValueOrDefault(p) ?? [];
            var exact = samples.Count == 0 ? null : ExactOf(samples[^1]);
            // Once a process called an allocator whose block sizes cannot be read (jemalloc), its
            // live bytes stop meaning anything, from the start: the collector clears the flag for good.
            var known = samples.Count > 0 && samples[^1].LiveBytesKnown ? samples : [];
            processes.Add(known.Count > 0
                ? FromCounters(p, known, exact, model.Events)
                : (fromEvents.GetValueOrDefault(p) ?? Empty(p)) with { Exact = exact });
        }
        return new HeapTimelines { Processes = processes, Overall = Sum(processes, times) };
    }

    static ExactHeapCounts ExactOf(HeapCounterSample s) => new(s.Allocations, s.AllocatedBytes, s.Frees, s.FreedBytes);

    static HeapTimeline Empty(uint pid) => new(pid, HeapSource.Events, [], 0, 0, -1, null);

    /// <summary>
    /// The counters' samples, plus each peak they report as a point of its own: samples come
    /// every ~100 ms, but the peak's height and time are exact and belong on the curve.
    /// </summary>
    static HeapTimeline FromCounters(uint pid, List<HeapCounterSample> samples, ExactHeapCounts? exact, AllocationTable events)
    {
        var points = new List<HeapPoint>(samples.Count * 2);
        (long Time, long Bytes) lastPeak = (long.MinValue, long.MinValue);
        long operations = 0;
        foreach (var s in samples)
        {
            long lastTime = points.Count > 0 ? points[^1].TimeNanos : long.MinValue;
            if ((s.PeakTimeNanos, s.PeakLiveBytes) != lastPeak && s.PeakTimeNanos > lastTime && s.PeakTimeNanos < s.TimeNanos)
                points.Add(new HeapPoint(s.PeakTimeNanos, s.PeakLiveBytes, operations));
            lastPeak = (s.PeakTimeNanos, s.PeakLiveBytes);
            operations = (long)(s.Allocations + s.Frees);
            points.Add(new HeapPoint(s.TimeNanos, s.LiveBytes, operations));
        }
        var last = samples[^1];
        return new HeapTimeline(pid, HeapSource.Counters, points, last.PeakLiveBytes, last.PeakTimeNanos,
            PeakCut(events, pid, last.PeakTimeNanos), exact);
    }

    /// <summary>How long after the counters' peak time the event of the call that made the peak
    /// may be stamped: the collector counts a call before it stamps the call's event.</summary>
    public const long PeakEventSlackNanos = 10_000;

    /// <summary>
    /// The last event at or before the counters' exact peak time — and past it, the process's
    /// allocation events stamped within <see cref="PeakEventSlackNanos"/> up to its next free:
    /// the counters rule out any allocation counted after the peak before a free, so these were
    /// counted at or before it (the peak's own call among them). Measured: the event of the call
    /// that made the peak came 70 ns after the peak time.
    /// </summary>
    static int PeakCut(AllocationTable events, uint pid, long peakTime)
    {
        int cut = LastIndexAtOrBefore(events.TimeNanos, peakTime);
        for (int i = cut + 1; i < events.Count && events.TimeNanos[i] <= peakTime + PeakEventSlackNanos; i++)
        {
            if (events.Pid[i] != pid) continue;
            // A realloc's free comes with its allocation, which may be the peak's call.
            if (events.Kind[i] == EventKind.Free && events.Function[i] is AllocFunction.Realloc or AllocFunction.Reallocarray) continue;
            if (events.Kind[i] != EventKind.Alloc) break;
            cut = i;
        }
        return cut;
    }

    /// <summary>One pass over the events for every process: its live bytes at the end and at the
    /// peak. The points themselves are made only when something reads them.</summary>
    static Dictionary<uint, HeapTimeline> EventTimelines(AllocationTable ev, HeapAnalysis heap, uint? onlyPid)
    {
        var states = new Dictionary<uint, EventState>();
        var kinds = ev.Kind;
        var pids = ev.Pid;
        var weights = ev.Weight;
        var releases = heap.Releases;
        EventState? state = null;
        for (int i = 0; i < ev.Count; i++)
        {
            if (onlyPid is { } only && pids[i] != only) continue;
            long delta;
            if (kinds[i] == EventKind.Alloc) delta = (long)weights[i];
            else if (kinds[i] == EventKind.Free && releases[i] is int a and >= 0) delta = -(long)weights[a];
            else continue; // frees of blocks allocated before recording began say nothing of the recorded heap
            if (state is null || state.Pid != pids[i])
            {
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(states, pids[i], out _);
                state = slot ??= new EventState(pids[i]);
            }
            state.Live += delta;
            state.Changes++;
            state.LastIndex = i;
            if (state.Live > state.PeakBytes) (state.PeakBytes, state.PeakIndex) = (state.Live, i);
        }
        return states.ToDictionary(kv => kv.Key, kv =>
        {
            var s = kv.Value;
            var last = s.Changes > 0 ? new HeapPoint(ev.TimeNanos[s.LastIndex], s.Live, s.Changes) : default;
            return new HeapTimeline(kv.Key, HeapSource.Events, new EventHeapPoints(ev, releases, kv.Key, s.Changes, last), s.PeakBytes,
                s.PeakIndex >= 0 ? ev.TimeNanos[s.PeakIndex] : 0, s.PeakIndex, null);
        });
    }

    sealed class EventState(uint pid)
    {
        public readonly uint Pid = pid;
        public long Live, PeakBytes;
        public int PeakIndex = -1, LastIndex = -1, Changes;
    }

    static HeapTimeline Sum(List<HeapTimeline> processes, long[] eventTimes)
    {
        var source = processes.Count == 0 || processes.All(p => p.Source == HeapSource.Events) ? HeapSource.Events
            : processes.All(p => p.Source == HeapSource.Counters) ? HeapSource.Counters : HeapSource.Mixed;
        var exact = processes.Count > 0 && processes.All(p => p.Exact is not null)
            ? processes.Select(p => p.Exact!).Aggregate((a, b) => a + b) : null;
        if (processes.Count == 1) return processes[0] with { Pid = null };

        // Each process's points are in time order: merge them, a process's own order kept at equal times.
        var heads = new PriorityQueue<int, (long Time, int Process)>();
        var next = new int[processes.Count];
        for (int p = 0; p < processes.Count; p++)
            if (processes[p].Points.Count > 0) heads.Enqueue(p, (processes[p].Points[0].TimeNanos, p));
        var live = new long[processes.Count];
        var operations = new long[processes.Count];
        long sumLive = 0, sumOperations = 0, peakBytes = 0, peakTime = 0;
        var points = new List<HeapPoint>(processes.Sum(p => p.Points.Count));
        while (heads.TryDequeue(out int p, out _))
        {
            var point = processes[p].Points[next[p]++];
            if (next[p] < processes[p].Points.Count) heads.Enqueue(p, (processes[p].Points[next[p]].TimeNanos, p));
            sumLive += point.LiveBytes - live[p];
            sumOperations += point.Operations - operations[p];
            live[p] = point.LiveBytes;
            operations[p] = point.Operations;
            // Several changes at one time make one point: the state after all of them.
            if (heads.TryPeek(out _, out var following) && following.Time == point.TimeNanos) continue;
            points.Add(new HeapPoint(point.TimeNanos, sumLive, sumOperations));
            if (sumLive > peakBytes) (peakBytes, peakTime) = (sumLive, point.TimeNanos);
        }
        int peakIndex = peakBytes > 0 ? LastIndexAtOrBefore(eventTimes, peakTime) : -1;
        return new HeapTimeline(null, source, points, peakBytes, peakTime, peakIndex, exact);
    }

    /// <summary>The last index whose time is at or before <paramref name="time"/>; -1 if none.</summary>
    public static int LastIndexAtOrBefore(long[] sortedTimes, long time)
    {
        int lo = 0, hi = sortedTimes.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sortedTimes[mid] <= time) lo = mid + 1;
            else hi = mid;
        }
        return lo - 1;
    }
}
