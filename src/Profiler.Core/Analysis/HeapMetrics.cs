using Profiler.Core.Model;

namespace Profiler.Core.Analysis;

/// <summary>
/// DHAT-style metrics of every recorded allocation, summed per allocating stack; sites,
/// functions and call-tree nodes are sums of these. The heap's peak (t-gmax) is taken per
/// process — processes have separate heaps — from the exact counters when the recording has
/// them, else from the events' own timeline.
/// </summary>
public sealed class HeapMetrics
{
    public required MetricsOptions Options { get; init; }
    public required HeapTimelines Timelines { get; init; }
    /// <summary>Metrics of the allocations made at each stack (exclusive; <see cref="StackId.None"/>
    /// for events without one).</summary>
    public required IReadOnlyDictionary<StackId, AllocationMetrics> ByStack { get; init; }
    public required AllocationMetrics Total { get; init; }

    public static HeapMetrics Compute(ProfileModel model, HeapAnalysis heap, MetricsOptions? options = null)
    {
        options ??= new MetricsOptions();
        var timelines = HeapTimelines.Compute(model, heap, options.Pid);
        var peakCut = timelines.Processes.ToDictionary(p => p.Pid!.Value, p => p.PeakEventIndex);
        var exited = model.Processes.Where(p => p.EndNanos is not null).Select(p => p.Pid).ToHashSet();
        var ev = model.Events;
        // Per stack in an array indexed by stack (slot 0: no stack), and the stacks in the order
        // they first allocate, so the dictionary lists them as it always did.
        var perStack = new MetricsSum[model.Tables.Stacks.Count + 1];
        var firstSeen = new List<int>();
        var total = new MetricsSum();
        uint lastPid = 0;
        int lastPeakCut = -1;
        bool lastExited = false, havePid = false;
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] != EventKind.Alloc || (options.Pid is { } pid && ev.Pid[i] != pid)) continue;
            if (!havePid || ev.Pid[i] != lastPid)
            {
                (lastPid, havePid) = (ev.Pid[i], true);
                lastPeakCut = peakCut.GetValueOrDefault(lastPid, -1);
                lastExited = exited.Contains(lastPid);
            }
            var facts = Of(ev, heap, i, lastPeakCut, lastExited, options);
            ref var slot = ref perStack[ev.Stack[i].Index + 1];
            if (slot.Samples == 0) firstSeen.Add(ev.Stack[i].Index + 1);
            slot.Add(facts);
            total.Add(facts);
        }
        var byStack = new Dictionary<StackId, AllocationMetrics>(firstSeen.Count);
        foreach (int slot in firstSeen) byStack.Add(new StackId(slot - 1), perStack[slot].ToMetrics());
        return new HeapMetrics { Options = options, Timelines = timelines, ByStack = byStack, Total = total.ToMetrics() };
    }

    /// <summary>The objects a recorded allocation stands for: weight / size (1 for a zero-size one).</summary>
    public static double BlocksOf(ulong size, ulong weight) => size == 0 ? 1 : (double)weight / size;

    /// <param name="peakCut">The process's last event at or before its heap peak.</param>
    static AllocationFacts Of(AllocationTable ev, HeapAnalysis heap, int i, int peakCut, bool processExited, MetricsOptions options)
    {
        long bytes = (long)ev.Weight[i];
        double blocks = BlocksOf(ev.Size[i], ev.Weight[i]);
        int freedBy = heap.FreedBy[i];
        bool freed = freedBy >= 0;
        bool atPeak = i <= peakCut && (!freed || freedBy > peakCut);
        long lifetime = freed ? ev.TimeNanos[freedBy] - ev.TimeNanos[i] : 0;
        bool shortLived = freed && lifetime < options.ShortLivedNanos;
        bool leaked = !freed && processExited;
        var (growth, reallocs) = ReallocGrowth(ev, heap, i, blocks);
        return new AllocationFacts(bytes, blocks, freed, atPeak, leaked, shortLived, freed ? lifetime * blocks : 0, growth, reallocs);
    }

    static bool IsRealloc(AllocFunction f) => f is AllocFunction.Realloc or AllocFunction.Reallocarray;

    /// <summary>
    /// A realloc is recorded as the free of the old block and the allocation of the new one, by
    /// the same thread at the same time, free first. The growth is new size − old size for each
    /// object the new event stands for; unknown (0, not counted) when the old block was not
    /// recorded — allocated before recording began, or not sampled.
    /// </summary>
    static (long Growth, double Calls) ReallocGrowth(AllocationTable ev, HeapAnalysis heap, int i, double blocks)
    {
        if (!IsRealloc(ev.Function[i])) return (0, 0);
        for (int k = i - 1; k >= 0 && ev.TimeNanos[k] == ev.TimeNanos[i]; k--)
        {
            if (ev.Pid[k] != ev.Pid[i] || ev.Tid[k] != ev.Tid[i]) continue;
            if (ev.Kind[k] != EventKind.Free || !IsRealloc(ev.Function[k])) break;
            if (heap.Releases[k] is not (int old and >= 0)) break;
            double added = ((double)ev.Size[i] - ev.Size[old]) * blocks;
            return ((long)Math.Round(added), blocks);
        }
        return (0, 0);
    }

    /// <summary>Per allocation site (see <see cref="SiteMode"/>; <see cref="MetricsOptions.SiteMode"/> chooses).</summary>
    public IReadOnlyList<FunctionMetrics> Sites(CallTreeTables tables) => SiteAnalysis.Sites(tables, ByStack, Options.SiteMode);

    /// <summary>Per function, inclusive: every function on an allocating stack, counted once per stack.</summary>
    public IReadOnlyList<FunctionMetrics> Functions(CallTreeTables tables) => SiteAnalysis.FunctionsInclusive(tables, ByStack);

    /// <summary>Per call-tree node (stack prefix), inclusive of the nodes below it.</summary>
    public IReadOnlyDictionary<StackId, AllocationMetrics> CallTree(CallTreeTables tables)
    {
        var inclusive = new AllocationMetrics[tables.Stacks.Count];
        var touched = new bool[tables.Stacks.Count];
        foreach (var (stack, metrics) in ByStack)
        {
            if (stack.IsNone) continue;
            inclusive[stack.Index] += metrics;
            touched[stack.Index] = true;
        }
        // A parent is interned before its children, so a backward sweep sees every child first.
        for (int s = inclusive.Length - 1; s >= 0; s--)
        {
            if (!touched[s]) continue;
            var parent = tables.Stacks[s].Parent;
            if (parent.IsNone) continue;
            inclusive[parent.Index] += inclusive[s];
            touched[parent.Index] = true;
        }
        var result = new Dictionary<StackId, AllocationMetrics>();
        for (int s = 0; s < inclusive.Length; s++)
            if (touched[s]) result[new StackId(s)] = inclusive[s];
        return result;
    }
}
