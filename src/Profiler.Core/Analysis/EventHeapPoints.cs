using System.Collections;
using Profiler.Core.Model;

namespace Profiler.Core.Analysis;

/// <summary>
/// A process's live bytes after each event that changed them, made from the events on first
/// use. The first screen needs only the count and the last point (the heap now), known without
/// them; ten million points are made only when a view draws the curve.
/// </summary>
sealed class EventHeapPoints(IEventSource events, uint pid, int count, HeapPoint last) : IReadOnlyList<HeapPoint>
{
    HeapPoint[]? _points;

    public int Count => count;

    public HeapPoint this[int index] => index == count - 1 ? last : Points[index];

    HeapPoint[] Points => _points ??= Make();

    HeapPoint[] Make()
    {
        var maker = new Maker(pid, new HeapPoint[count]);
        PairedWalk.Run(events, maker);
        return maker.Points;
    }

    sealed class Maker(uint pid, HeapPoint[] points) : PairedVisitor
    {
        long _live;
        int _k;

        public HeapPoint[] Points => points;

        public override void Alloc(EventChunk c, int j) => Change(c, j, (long)c.Weight[j]);

        public override void Free(EventChunk c, int j, in LiveBlock? released)
        {
            if (released is { } block) Change(c, j, -(long)block.Weight);
        }

        void Change(EventChunk c, int j, long delta)
        {
            if (c.Pid[j] != pid || _k >= points.Length) return;
            _live += delta;
            points[_k] = new HeapPoint(c.TimeNanos[j], _live, _k + 1);
            _k++;
        }
    }

    public IEnumerator<HeapPoint> GetEnumerator() => ((IEnumerable<HeapPoint>)Points).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
