namespace Profiler.Collectors.Linux.Jemalloc;

/// <summary>Live objects jemalloc sampled, by process, address and backtrace context (tctx) with
/// requested size. It turns jemalloc's sampled-path calls into the frees to record:
/// <list type="bullet">
/// <item>jemalloc 5.3.0's prof_free_sampled_object is not given the pointer: any live object of the
/// same context and size is then freed in its place — the same stack and bytes, so every total agrees.</item>
/// <item>prof_realloc reports the new object (prof_malloc_sample_object) before it frees the old
/// one, so that a shared tctx is not destroyed in between. When rallocx resized a sampled block in
/// place, the new sample arrives at an address that is still live: the old object is freed right
/// there, before the new one, and the thread's next free of that context and size — the one
/// prof_realloc is about to make — is taken as already recorded.</item>
/// </list></summary>
public sealed class SampledObjects
{
    readonly Dictionary<(uint Pid, ulong Tctx, ulong Size), List<ulong>> _bySite = [];
    readonly Dictionary<(uint Pid, ulong Address), (ulong Tctx, ulong Size)> _byAddress = [];
    readonly Dictionary<uint, (uint Pid, ulong Tctx, ulong Size)> _freedAhead = [];

    public int Count => _byAddress.Count;

    /// <summary>A sample jemalloc took (prof_malloc_sample_object).</summary>
    /// <returns>The address of a live sample this one replaces in place, to record as freed just
    /// before the new allocation; null when the address was not live.</returns>
    public ulong? Add(uint pid, uint tid, ulong tctx, ulong size, ulong address)
    {
        // No probed jemalloc call comes between prof_realloc's two: a new sample ends the wait.
        _freedAhead.Remove(tid);
        ulong? replaced = null;
        if (_byAddress.Remove((pid, address), out var old))
        {
            RemoveFromSite(pid, old.Tctx, old.Size, address);
            _freedAhead[tid] = (pid, old.Tctx, old.Size);
            replaced = address;
        }
        _byAddress[(pid, address)] = (tctx, size);
        if (!_bySite.TryGetValue((pid, tctx, size), out var list)) _bySite[(pid, tctx, size)] = list = [];
        list.Add(address);
        return replaced;
    }

    /// <summary>A sampled object jemalloc freed (prof_free_sampled_object).</summary>
    /// <param name="address">The freed pointer when jemalloc passes it (5.3.1+), else 0.</param>
    /// <returns>The address to record as freed, or null when there is nothing to record: no such
    /// sample is live (sampled before recording began), or its free was recorded ahead.</returns>
    public ulong? Remove(uint pid, uint tid, ulong tctx, ulong size, ulong address)
    {
        if (_freedAhead.Remove(tid, out var ahead) && ahead == (pid, tctx, size)) return null;
        if (address != 0)
        {
            if (!_byAddress.Remove((pid, address), out var known)) return null;
            RemoveFromSite(pid, known.Tctx, known.Size, address);
            return address;
        }
        if (!_bySite.TryGetValue((pid, tctx, size), out var list) || list.Count == 0) return null;
        ulong freed = list[^1];
        _byAddress.Remove((pid, freed));
        RemoveFromSite(pid, tctx, size, freed);
        return freed;
    }

    void RemoveFromSite(uint pid, ulong tctx, ulong size, ulong address)
    {
        if (!_bySite.TryGetValue((pid, tctx, size), out var list)) return;
        int index = list.LastIndexOf(address);
        if (index >= 0) list.RemoveAt(index);
        if (list.Count == 0) _bySite.Remove((pid, tctx, size));
    }
}
