namespace Profiler.Collectors.Linux.Jemalloc;

/// <summary>Live objects jemalloc sampled, by process, backtrace context (tctx) and requested size.
/// jemalloc 5.3.0's prof_free_sampled_object is not given the pointer: any live object of the same
/// context and size is then freed in its place — the same stack and bytes, so every total agrees.</summary>
public sealed class SampledObjects
{
    readonly Dictionary<(uint Pid, ulong Tctx, ulong Size), List<ulong>> _live = [];

    public int Count => _live.Values.Sum(l => l.Count);

    public void Add(uint pid, ulong tctx, ulong size, ulong address)
    {
        if (!_live.TryGetValue((pid, tctx, size), out var list)) _live[(pid, tctx, size)] = list = [];
        list.Add(address);
    }

    /// <param name="address">The freed pointer when jemalloc passes it (5.3.1+), else 0.</param>
    /// <returns>The address to record as freed, or null when no such sample is live (sampled before
    /// recording began).</returns>
    public ulong? Remove(uint pid, ulong tctx, ulong size, ulong address)
    {
        if (!_live.TryGetValue((pid, tctx, size), out var list) || list.Count == 0) return null;
        int index = address == 0 ? list.Count - 1 : list.LastIndexOf(address);
        if (index < 0) return null;
        ulong freed = list[index];
        list.RemoveAt(index);
        if (list.Count == 0) _live.Remove((pid, tctx, size));
        return freed;
    }
}
