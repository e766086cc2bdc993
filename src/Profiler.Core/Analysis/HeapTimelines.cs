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

    /// <summary>As <see cref="Compute(ProfileModel, uint?)"/>, for a caller that already paired the
    /// model's events in a table: the walk pairs them again as it goes.</summary>
    public static HeapTimelines Compute(ProfileModel model, HeapAnalysis heap, uint? pid = null) => Compute(model, pid);

    /// <param name="pid">Only this process, when given.</param>
    public static HeapTimelines Compute(ProfileModel model, uint? pid = null)
    {
        var pids = model.Processes.Select(p => p.Pid).Concat(model.Counters.Select(c => c.Pid))
            .Where(p => pid is null || p == pid).Distinct().Order().ToList();
        var counters = model.Counters.Where(c => pid is null || c.Pid == pid)
            .GroupBy(c => c.Pid).ToDictionary(g => g.Key, g => g.OrderBy(c => c.TimeNanos).ToList());
        var source = model.EventSource;
        // Once a process called an allocator whose block sizes cannot be read (jemalloc), its
        // live bytes stop meaning anything, from the start: the collector clears the flag for good.
        var known = pids.Where(p => counters.GetValueOrDefault(p) is { Count: > 0 } samples && samples[^1].LiveBytesKnown).ToHashSet();
        // Only processes without usable counters take their timeline from the events; the others
        // need the event at their counters' peak. One walk finds both.
        var cuts = known.ToDictionary(p => p, p => new PeakCutVisitor(p, counters[p][^1].PeakTimeNanos));
        var fromEvents = pids.Any(p => !known.Contains(p)) ? new EventTimelineVisitor(source, pid) : null;
        if (fromEvents is not null) PairedWalk.Run(source, [fromEvents, .. cuts.Values]);
        else if (cuts.Count > 0) WalkEvents(source, cuts.Values);

        var processes = new List<HeapTimeline>(pids.Count);
        foreach (var p in pids)
        {
            var samples = counters.GetValueOrDefault(p) ?? [];
            var exact = samples.Count == 0 ? null : ExactOf(samples[^1]);
            processes.Add(known.Contains(p)
                ? FromCounters(p, samples, exact, (int)cuts[p].Cut)
                : (fromEvents!.Timelines.GetValueOrDefault(p) ?? Empty(p)) with { Exact = exact });
        }
        return new HeapTimelines { Processes = processes, Overall = Sum(processes, source) };
    }

    static void WalkEvents(IEventSource source, IEnumerable<PairedVisitor> visitors)
    {
        var all = visitors.ToArray();
        source.Walk(chunk =>
        {
            for (int j = 0; j < chunk.Count; j++)
                foreach (var v in all) v.Event(chunk, j);
        });
    }

    static ExactHeapCounts ExactOf(HeapCounterSample s) => new(s.Allocations, s.AllocatedBytes, s.Frees, s.FreedBytes);

    static HeapTimeline Empty(uint pid) => new(pid, HeapSource.Events, [], 0, 0, -1, null);

    /// <summary>
    /// The counters' samples, plus each peak they report as a point of its own: samples come
    /// every ~100 ms, but the peak's height and time are exact and belong on the curve.
    /// </summary>
    static HeapTimeline FromCounters(uint pid, List<HeapCounterSample> samples, ExactHeapCounts? exact, int peakCut)
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
        return new HeapTimeline(pid, HeapSource.Counters, points, last.PeakLiveBytes, last.PeakTimeNanos, peakCut, exact);
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
    sealed class PeakCutVisitor(uint pid, long peakTime) : PairedVisitor
    {
        bool _done;
        public long Cut { get; private set; } = -1;

        public override void Event(EventChunk c, int j)
        {
            if (_done) return;
            long time = c.TimeNanos[j];
            if (time <= peakTime) { Cut = c.FirstIndex + j; return; }
            if (time > peakTime + PeakEventSlackNanos) { _done = true; return; }
            if (c.Pid[j] != pid) return;
            // A realloc's free comes with its allocation, which may be the peak's call.
            if (c.Kind[j] == EventKind.Free && c.Function[j] is AllocFunction.Realloc or AllocFunction.Reallocarray) return;
            if (c.Kind[j] != EventKind.Alloc) { _done = true; return; }
            Cut = c.FirstIndex + j;
        }
    }

    /// <summary>One pass over the events for every process: its live bytes at the end and at the
    /// peak. The points themselves are made only when something reads them.</summary>
    sealed class EventTimelineVisitor(IEventSource source, uint? onlyPid) : PairedVisitor
    {
        readonly Dictionary<uint, EventState> _states = [];
        EventState? _state;

        public override void Alloc(EventChunk c, int j) => Change(c, j, (long)c.Weight[j]);

        public override void Free(EventChunk c, int j, in LiveBlock? released)
        {
            // Frees of blocks allocated before recording began say nothing of the recorded heap.
            if (released is { } block) Change(c, j, -(long)block.Weight);
        }

        void Change(EventChunk c, int j, long delta)
        {
            uint pid = c.Pid[j];
            if (onlyPid is { } only && pid != only) return;
            if (_state is null || _state.Pid != pid)
            {
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_states, pid, out _);
                _state = slot ??= new EventState(pid);
            }
            var s = _state;
            s.Live += delta;
            s.Changes++;
            s.LastTime = c.TimeNanos[j];
            if (s.Live > s.PeakBytes) (s.PeakBytes, s.PeakIndex, s.PeakTime) = (s.Live, c.FirstIndex + j, c.TimeNanos[j]);
        }

        public Dictionary<uint, HeapTimeline> Timelines => _states.ToDictionary(kv => kv.Key, kv =>
        {
            var s = kv.Value;
            var last = s.Changes > 0 ? new HeapPoint(s.LastTime, s.Live, s.Changes) : default;
            return new HeapTimeline(kv.Key, HeapSource.Events, new EventHeapPoints(source, kv.Key, s.Changes, last), s.PeakBytes,
                s.PeakIndex >= 0 ? s.PeakTime : 0, (int)s.PeakIndex, null);
        });
    }

    sealed class EventState(uint pid)
    {
        public readonly uint Pid = pid;
        public long Live, PeakBytes, PeakIndex = -1, PeakTime, LastTime;
        public int Changes;
    }

    static HeapTimeline Sum(List<HeapTimeline> processes, IEventSource events)
    {
        var source = processes.Count == 0 || processes.All(p => p.Source == HeapSource.Events) ? HeapSource.Events
            : processes.All(p => p.Source == HeapSource.Counters) ? HeapSource.Counters : HeapSource.Mixed;
        var exact = processes.Count > 0 && processes.All(p => p.Exact is not null)
            ? processes.Select(p => p.Exact!).Aggregate((a, b) => a + b) : null;
        if (processes.Count == 1) return processes[0] with { Pid = null };

        var merged = new MergedHeapPoints(processes, events);
        int peakIndex = merged.PeakBytes > 0 ? (int)events.LastIndexAtOrBefore(merged.PeakTimeNanos) : -1;
        return new HeapTimeline(null, source, merged, merged.PeakBytes, merged.PeakTimeNanos, peakIndex, exact);
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
