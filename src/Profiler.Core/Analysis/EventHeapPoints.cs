using System.Collections;
using Profiler.Core.Model;

namespace Profiler.Core.Analysis;

/// <summary>
/// A process's live bytes after each event that changed them, made from the events on first
/// use. The first screen needs only the count and the last point (the heap now), known without
/// them; ten million points are made only when a view draws the curve.
/// </summary>
sealed class EventHeapPoints(AllocationTable events, int[] releases, uint pid, int count, HeapPoint last) : IReadOnlyList<HeapPoint>
{
    HeapPoint[]? _points;

    public int Count => count;

    public HeapPoint this[int index] => index == count - 1 ? last : Points[index];

    HeapPoint[] Points => _points ??= Make();

    HeapPoint[] Make()
    {
        var points = new HeapPoint[count];
        long live = 0;
        int k = 0;
        for (int i = 0; i < events.Count && k < count; i++)
        {
            if (events.Pid[i] != pid) continue;
            if (events.Kind[i] == EventKind.Alloc) live += (long)events.Weight[i];
            else if (events.Kind[i] == EventKind.Free && releases[i] is int a and >= 0) live -= (long)events.Weight[a];
            else continue;
            points[k] = new HeapPoint(events.TimeNanos[i], live, k + 1);
            k++;
        }
        return points;
    }

    public IEnumerator<HeapPoint> GetEnumerator() => ((IEnumerable<HeapPoint>)Points).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
