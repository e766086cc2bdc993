using Profiler.Core.Model;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Analysis;

public sealed record SiteStats(
    string Function, string? Module,
    long AllocatedBytes, long Allocations, long FreedBytes, long Frees,
    long RetainedBytes, long RetainedBlocks, long PeakBytes);

/// <summary>Per-function statistics. A site is the innermost frame outside the allocator;
/// inclusive statistics count every function on the allocating stack once.</summary>
public static class SiteAnalysis
{
    public static IReadOnlyList<SiteStats> BySite(ProfileModel model, HeapAnalysis heap) =>
        Aggregate(model, heap, inclusive: false);

    public static IReadOnlyList<SiteStats> ByFunctionInclusive(ProfileModel model, HeapAnalysis heap) =>
        Aggregate(model, heap, inclusive: true);

    /// <summary>The innermost non-allocator function of a stack.</summary>
    public static FunctionId? SiteOf(CallTreeTables tables, StackId stack)
    {
        foreach (var frame in tables.FramesLeafFirst(stack))
        {
            var fn = tables.Frame(frame).Function;
            if (!AllocatorFrames.IsAllocator(tables.Function(fn).Name)) return fn;
        }
        return null;
    }

    static IReadOnlyList<SiteStats> Aggregate(ProfileModel model, HeapAnalysis heap, bool inclusive)
    {
        var ev = model.Events;
        var tables = model.Tables;
        var acc = new Dictionary<FunctionId, Accumulator>();
        var keysCache = new Dictionary<StackId, FunctionId[]>();

        FunctionId[] KeysOf(StackId stack)
        {
            if (keysCache.TryGetValue(stack, out var keys)) return keys;
            if (inclusive)
                keys = tables.FramesLeafFirst(stack).Select(f => tables.Frame(f).Function).Distinct().ToArray();
            else
                keys = SiteOf(tables, stack) is { } site ? [site] : [];
            return keysCache[stack] = keys;
        }

        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] == EventKind.Alloc)
            {
                foreach (var fn in KeysOf(ev.Stack[i]))
                    Get(acc, fn).Allocate((long)ev.Weight[i], heap.FreedBy[i] < 0);
            }
            else if (heap.Releases[i] is int a and >= 0)
            {
                foreach (var fn in KeysOf(ev.Stack[a]))
                    Get(acc, fn).Free((long)ev.Weight[a]);
            }
        }

        return acc.Select(kv =>
        {
            var f = tables.Function(kv.Key);
            var s = kv.Value;
            return new SiteStats(f.Name, f.Module is { } m ? tables.Module(m).Name : null,
                s.Allocated, s.Allocations, s.Freed, s.Frees, s.Retained, s.RetainedBlocks, s.Peak);
        }).ToList();
    }

    static Accumulator Get(Dictionary<FunctionId, Accumulator> acc, FunctionId fn)
    {
        if (!acc.TryGetValue(fn, out var a)) acc[fn] = a = new Accumulator();
        return a;
    }

    sealed class Accumulator
    {
        public long Allocated, Allocations, Freed, Frees, Retained, RetainedBlocks, Live, Peak;

        public void Allocate(long bytes, bool neverFreed)
        {
            Allocated += bytes;
            Allocations++;
            Live += bytes;
            if (Live > Peak) Peak = Live;
            if (neverFreed) { Retained += bytes; RetainedBlocks++; }
        }

        public void Free(long bytes)
        {
            Freed += bytes;
            Frees++;
            Live -= bytes;
        }
    }
}
