using System.Runtime.InteropServices;
using Profiler.Core.Model;

namespace Profiler.Core.Analysis;

/// <summary>The metrics of one function: as an allocation site, or inclusive of its callees.</summary>
/// <param name="Function">Null for the allocations recorded without a stack.</param>
/// <param name="File">The function's source file, when the symbols had it.</param>
/// <param name="Lines">The lines in <paramref name="File"/> of its frames on the allocating
/// stacks (the call sites), the line with the most allocated bytes first.</param>
/// <param name="FunctionLine">The line where the function starts, when known.</param>
public sealed record FunctionMetrics(
    FunctionId? Function, string Name, string? Module, string? File, IReadOnlyList<int> Lines, int? FunctionLine,
    AllocationMetrics Metrics)
{
    public const string NoStack = "(no stack)";
}

/// <summary>Groups per-stack metrics by function. A site is the innermost frame outside the
/// allocator; a stack of allocator frames only is its outermost frame's.</summary>
public static class SiteAnalysis
{
    /// <summary>The innermost non-allocator function of a stack.</summary>
    public static FunctionId? SiteOf(CallTreeTables tables, StackId stack) =>
        SiteFrameOf(tables, stack) is { } frame && !IsAllocator(tables, frame) ? tables.Frame(frame).Function : null;

    /// <summary>The innermost frame outside the allocator, else the outermost frame; null for no stack.</summary>
    public static FrameId? SiteFrameOf(CallTreeTables tables, StackId stack)
    {
        FrameId? outermost = null;
        foreach (var frame in tables.FramesLeafFirst(stack))
        {
            if (!IsAllocator(tables, frame)) return frame;
            outermost = frame;
        }
        return outermost;
    }

    static bool IsAllocator(CallTreeTables tables, FrameId frame)
    {
        var function = tables.Function(tables.Frame(frame).Function);
        return AllocatorFrames.IsAllocator(function.Name, function.File);
    }

    public static IReadOnlyList<FunctionMetrics> Sites(CallTreeTables tables, IReadOnlyDictionary<StackId, AllocationMetrics> byStack)
    {
        var groups = new Dictionary<int, Group>();
        foreach (var (stack, metrics) in byStack)
        {
            var frame = stack.IsNone ? null : SiteFrameOf(tables, stack);
            Add(groups, tables, frame, metrics);
        }
        return Finish(groups, tables);
    }

    public static IReadOnlyList<FunctionMetrics> FunctionsInclusive(CallTreeTables tables, IReadOnlyDictionary<StackId, AllocationMetrics> byStack)
    {
        var groups = new Dictionary<int, Group>();
        var seen = new HashSet<FunctionId>();
        foreach (var (stack, metrics) in byStack)
        {
            if (stack.IsNone)
            {
                Add(groups, tables, null, metrics);
                continue;
            }
            seen.Clear();
            // Leaf first, so a recursive function's line is that of its innermost frame.
            foreach (var frame in tables.FramesLeafFirst(stack))
                if (seen.Add(tables.Frame(frame).Function)) Add(groups, tables, frame, metrics);
        }
        return Finish(groups, tables);
    }

    sealed class Group
    {
        public AllocationMetrics Metrics;
        public readonly Dictionary<int, long> BytesByLine = [];
    }

    static void Add(Dictionary<int, Group> groups, CallTreeTables tables, FrameId? frame, in AllocationMetrics metrics)
    {
        var info = frame is { } f ? tables.Frame(f) : null;
        int key = info?.Function.Index ?? -1;
        ref var group = ref CollectionsMarshal.GetValueRefOrAddDefault(groups, key, out _);
        group ??= new Group();
        group.Metrics += metrics;
        if (info?.Line is { } line) group.BytesByLine[line] = group.BytesByLine.GetValueOrDefault(line) + metrics.AllocatedBytes;
    }

    static List<FunctionMetrics> Finish(Dictionary<int, Group> groups, CallTreeTables tables) =>
        groups.Select(kv =>
        {
            var lines = kv.Value.BytesByLine.OrderByDescending(l => l.Value).ThenBy(l => l.Key).Select(l => l.Key).ToList();
            if (kv.Key < 0) return new FunctionMetrics(null, FunctionMetrics.NoStack, null, null, lines, null, kv.Value.Metrics);
            var id = new FunctionId(kv.Key);
            var f = tables.Function(id);
            return new FunctionMetrics(id, f.Name, f.Module is { } m ? tables.Module(m).Name : null, f.File, lines, f.Line, kv.Value.Metrics);
        }).ToList();
}
