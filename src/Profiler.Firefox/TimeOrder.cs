namespace Profiler.Firefox;

static class TimeOrder
{
    /// <summary>
    /// Row order that sorts by time and keeps insertion order among equal times, so an
    /// allocation and its free recorded in the same millisecond stay in that order.
    /// </summary>
    public static int[] Stable(IReadOnlyList<double> times)
    {
        var order = new int[times.Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        if (IsSorted(times)) return order;
        order.AsSpan().Sort((a, b) =>
        {
            var byTime = times[a].CompareTo(times[b]);
            return byTime != 0 ? byTime : a.CompareTo(b);
        });
        return order;
    }

    static bool IsSorted(IReadOnlyList<double> times)
    {
        for (var i = 1; i < times.Count; i++)
            if (times[i] < times[i - 1]) return false;
        return true;
    }
}
