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

    /// <summary>The standard-library calls the site's allocations went through, shortened
    /// ("Vec::reserve", "opendir → __alloc_dir"); the path with the most bytes when there are
    /// several; null when the site called the allocator itself.</summary>
    public string? Via { get; init; }

    /// <summary>How many other standard-library paths the site also allocated through.</summary>
    public int OtherPaths { get; init; }

    /// <summary>The site as one line names it: "load_index via Vec::with_capacity".</summary>
    public string Label => Via is null ? Name : $"{Name} via {Via}{OtherPathsText}";

    /// <summary>" (+2 other paths)", or empty.</summary>
    public string OtherPathsText => OtherPaths switch { 0 => "", 1 => " (+1 other path)", _ => $" (+{OtherPaths} other paths)" };
}

/// <summary>Which frame of a stack is its allocation's site.</summary>
public enum SiteMode
{
    /// <summary>The innermost frame of the program's own code; the standard-library frames between
    /// it and the allocator are the path it went through (see <see cref="FrameClassifier"/>).</summary>
    Program,
    /// <summary>The innermost frame outside the allocator, whatever code it is.</summary>
    Innermost,
}

/// <summary>The site of a stack.</summary>
/// <param name="Frame">The frame the allocation is attributed to.</param>
/// <param name="Via">The standard-library frames between the site and the allocator, outermost
/// (the one the site called) first; empty when the site called the allocator.</param>
public sealed record StackSite(FrameId Frame, IReadOnlyList<FrameId> Via)
{
    /// <summary>The path through <see cref="Via"/> shortened: "Vec::reserve", "opendir → __alloc_dir",
    /// "Vec::from_iter → … → Vec::reserve"; null when empty.</summary>
    public string? ViaText(CallTreeTables tables)
    {
        if (Via.Count == 0) return null;
        var names = new List<string>();
        foreach (var frame in Via)
        {
            string name = SiteAnalysis.ShortName(tables, frame);
            if (names.Count == 0 || names[^1] != name) names.Add(name);
        }
        return names.Count <= 2 ? string.Join(" → ", names) : $"{names[0]} → … → {names[^1]}";
    }
}

/// <summary>Groups per-stack metrics by site. In <see cref="SiteMode.Program"/> a site is the
/// innermost frame of the program's own code, with the standard-library path it allocated through;
/// a stack of library frames only (a std thread's own allocation) falls back to its innermost frame
/// outside the allocator, and a stack of allocator frames only to its outermost frame.</summary>
public static class SiteAnalysis
{
    /// <summary>The site function of a stack; null for no stack or one of allocator frames only.</summary>
    public static FunctionId? SiteOf(CallTreeTables tables, StackId stack, SiteMode mode = SiteMode.Program) =>
        SiteFrameOf(tables, stack, mode) is { } frame && KindOf(tables, frame) != FrameKind.Allocator ? tables.Frame(frame).Function : null;

    /// <summary>The site frame of a stack (see <see cref="SiteOfStack"/>); null for no stack.</summary>
    public static FrameId? SiteFrameOf(CallTreeTables tables, StackId stack, SiteMode mode = SiteMode.Program) =>
        SiteOfStack(tables, stack, mode)?.Frame;

    /// <summary>The site of a stack and the library path to it; null for no stack.</summary>
    public static StackSite? SiteOfStack(CallTreeTables tables, StackId stack, SiteMode mode = SiteMode.Program)
    {
        if (stack.IsNone) return null;
        FrameId? outermost = null, innermostOutsideAllocator = null;
        List<FrameId>? via = null;
        foreach (var frame in tables.FramesLeafFirst(stack))
        {
            var callee = outermost;
            outermost = frame;
            var kind = KindOf(tables, frame);
            if (kind == FrameKind.Allocator) continue;
            if (kind == FrameKind.Program && callee is { } c && FrameClassifier.IsRustRuntimeEntry(tables.FunctionName(frame), tables.FunctionName(c)))
                kind = FrameKind.Library;
            innermostOutsideAllocator ??= frame;
            if (mode == SiteMode.Innermost || kind == FrameKind.Program)
            {
                via?.Reverse();
                return new StackSite(frame, via is null ? [] : via);
            }
            (via ??= []).Add(frame);
        }
        return new StackSite(innermostOutsideAllocator ?? outermost!.Value, []);
    }

    /// <summary>Whose code a frame is (cached per function: every stack through it asks).</summary>
    public static FrameKind KindOf(CallTreeTables tables, FrameId frame)
    {
        var functionId = tables.Frame(frame).Function;
        var cache = Caches.GetValue(tables, _ => new FunctionCache());
        lock (cache)
        {
            if (cache.Kinds.TryGetValue(functionId.Index, out var kind)) return kind;
            var function = tables.Function(functionId);
            var module = function.Module is { } m ? tables.Module(m).Path : null;
            kind = FrameClassifier.Classify(function.Name, function.File, module);
            cache.Kinds[functionId.Index] = kind;
            return kind;
        }
    }

    /// <summary>The short name of a frame's function (cached per function).</summary>
    public static string ShortName(CallTreeTables tables, FrameId frame)
    {
        var functionId = tables.Frame(frame).Function;
        var cache = Caches.GetValue(tables, _ => new FunctionCache());
        lock (cache)
        {
            if (!cache.ShortNames.TryGetValue(functionId.Index, out var name))
                cache.ShortNames[functionId.Index] = name = ShortNames.Of(tables.Function(functionId).Name);
            return name;
        }
    }

    sealed class FunctionCache
    {
        public readonly Dictionary<int, FrameKind> Kinds = [];
        public readonly Dictionary<int, string> ShortNames = [];
    }

    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<CallTreeTables, FunctionCache> Caches = new();

    public static IReadOnlyList<FunctionMetrics> Sites(CallTreeTables tables, IReadOnlyDictionary<StackId, AllocationMetrics> byStack,
        SiteMode mode = SiteMode.Program)
    {
        // One row per function: a user asks what their function allocated, whichever std calls it
        // went through; the path with the most bytes is shown.
        var groups = new Dictionary<int, Group>();
        foreach (var (stack, metrics) in byStack)
        {
            var site = SiteOfStack(tables, stack, mode);
            Add(groups, tables, site?.Frame, site?.ViaText(tables), metrics);
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
                Add(groups, tables, null, null, metrics);
                continue;
            }
            seen.Clear();
            // Leaf first, so a recursive function's line is that of its innermost frame.
            foreach (var frame in tables.FramesLeafFirst(stack))
                if (seen.Add(tables.Frame(frame).Function)) Add(groups, tables, frame, null, metrics);
        }
        return Finish(groups, tables);
    }

    sealed class Group
    {
        public AllocationMetrics Metrics;
        public readonly Dictionary<int, long> BytesByLine = [];
        public readonly Dictionary<string, long> BytesByVia = [];
        public bool Direct;
    }

    static void Add(Dictionary<int, Group> groups, CallTreeTables tables, FrameId? frame, string? via, in AllocationMetrics metrics)
    {
        var info = frame is { } f ? tables.Frame(f) : null;
        ref var group = ref CollectionsMarshal.GetValueRefOrAddDefault(groups, info?.Function.Index ?? -1, out _);
        group ??= new Group();
        group.Metrics += metrics;
        if (via is null) group.Direct = true;
        else group.BytesByVia[via] = group.BytesByVia.GetValueOrDefault(via) + metrics.AllocatedBytes;
        if (info?.Line is { } line) group.BytesByLine[line] = group.BytesByLine.GetValueOrDefault(line) + metrics.AllocatedBytes;
    }

    static List<FunctionMetrics> Finish(Dictionary<int, Group> groups, CallTreeTables tables) =>
        groups.Select(kv =>
        {
            var lines = kv.Value.BytesByLine.OrderByDescending(l => l.Value).ThenBy(l => l.Key).Select(l => l.Key).ToList();
            if (kv.Key < 0) return new FunctionMetrics(null, FunctionMetrics.NoStack, null, null, lines, null, kv.Value.Metrics);
            var id = new FunctionId(kv.Key);
            var vias = kv.Value.BytesByVia.OrderByDescending(v => v.Value).ThenBy(v => v.Key, StringComparer.Ordinal).Select(v => v.Key).ToList();
            var f = tables.Function(id);
            return new FunctionMetrics(id, f.Name, f.Module is { } m ? tables.Module(m).Name : null, f.File, lines, f.Line, kv.Value.Metrics)
            {
                Via = vias.Count > 0 ? vias[0] : null,
                OtherPaths = Math.Max(0, vias.Count - 1) + (kv.Value.Direct && vias.Count > 0 ? 1 : 0),
            };
        }).ToList();
}
