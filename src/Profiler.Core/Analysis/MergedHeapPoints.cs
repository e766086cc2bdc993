using System.Collections;
using Profiler.Core.Model;

namespace Profiler.Core.Analysis;

/// <summary>
/// The processes' live bytes summed over time: each process's points merged in time order,
/// several changes at one time making one point (the state after all of them). A process whose
/// points come from the events has one per event: those are made by a walk over the events as
/// the merge goes, so the sum's peak, its count and its last point are known without keeping
/// them, and the points themselves are made only when something reads them (a drawn curve).
/// </summary>
sealed class MergedHeapPoints : IReadOnlyList<HeapPoint>
{
    readonly List<HeapTimeline> _processes;
    readonly IEventSource _events;
    HeapPoint _last;
    HeapPoint[]? _points;

    public MergedHeapPoints(List<HeapTimeline> processes, IEventSource events)
    {
        (_processes, _events) = (processes, events);
        long peakBytes = 0, peakTime = 0;
        int count = 0;
        Merge(point =>
        {
            count++;
            _last = point;
            if (point.LiveBytes > peakBytes) (peakBytes, peakTime) = (point.LiveBytes, point.TimeNanos);
        });
        (PeakBytes, PeakTimeNanos, Count) = (peakBytes, peakTime, count);
    }

    public long PeakBytes { get; }
    public long PeakTimeNanos { get; }
    public int Count { get; }

    public HeapPoint this[int index] => index == Count - 1 ? _last : Points[index];

    HeapPoint[] Points => _points ??= Make();

    HeapPoint[] Make()
    {
        var points = new HeapPoint[Count];
        int k = 0;
        Merge(point => points[k++] = point);
        return points;
    }

    void Merge(Action<HeapPoint> emit)
    {
        int n = _processes.Count;
        var live = new long[n];
        var operations = new long[n];
        long sumLive = 0, sumOperations = 0;
        long? pendingTime = null;
        // The processes whose points are in memory, merged in as the time passes them.
        var listed = Enumerable.Range(0, n).Where(p => _processes[p].Points is not EventHeapPoints).ToList();
        var next = new int[n];
        var fromEvents = Enumerable.Range(0, n).Where(p => _processes[p].Points is EventHeapPoints)
            .ToDictionary(p => _processes[p].Pid!.Value, p => p);

        void Change(int p, HeapPoint point)
        {
            if (pendingTime is { } time && time != point.TimeNanos) emit(new HeapPoint(time, sumLive, sumOperations));
            pendingTime = point.TimeNanos;
            sumLive += point.LiveBytes - live[p];
            sumOperations += point.Operations - operations[p];
            live[p] = point.LiveBytes;
            operations[p] = point.Operations;
        }

        // Listed points at or before this time, earliest first (a process's own order kept).
        void ListedUpTo(long time)
        {
            while (true)
            {
                int best = -1;
                foreach (int p in listed)
                {
                    if (next[p] >= _processes[p].Points.Count) continue;
                    if (best < 0 || _processes[p].Points[next[p]].TimeNanos < _processes[best].Points[next[best]].TimeNanos) best = p;
                }
                if (best < 0 || _processes[best].Points[next[best]].TimeNanos > time) return;
                Change(best, _processes[best].Points[next[best]++]);
            }
        }

        if (fromEvents.Count > 0)
            PairedWalk.Run(_events, new EventChanges(fromEvents, (p, point) =>
            {
                ListedUpTo(point.TimeNanos);
                Change(p, point);
            }));
        ListedUpTo(long.MaxValue);
        if (pendingTime is { } last) emit(new HeapPoint(last, sumLive, sumOperations));
    }

    /// <summary>Each event that changed a process's live bytes, as that process's next point.</summary>
    sealed class EventChanges(Dictionary<uint, int> processOf, Action<int, HeapPoint> change) : PairedVisitor
    {
        readonly Dictionary<uint, (long Live, long Changes)> _state = [];

        public override void Alloc(EventChunk c, int j) => Change(c, j, (long)c.Weight[j]);

        public override void Free(EventChunk c, int j, in LiveBlock? released)
        {
            if (released is { } block) Change(c, j, -(long)block.Weight);
        }

        void Change(EventChunk c, int j, long delta)
        {
            if (!processOf.TryGetValue(c.Pid[j], out int p)) return;
            var (live, changes) = _state.GetValueOrDefault(c.Pid[j]);
            _state[c.Pid[j]] = (live += delta, ++changes);
            change(p, new HeapPoint(c.TimeNanos[j], live, changes));
        }
    }

    public IEnumerator<HeapPoint> GetEnumerator() => ((IEnumerable<HeapPoint>)Points).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
