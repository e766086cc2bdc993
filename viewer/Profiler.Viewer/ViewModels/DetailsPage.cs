using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Formatting;

namespace Profiler.Viewer.ViewModels;

/// <summary>The selected site: its figures and the full stacks that allocated there, innermost
/// frame first, each with file:line, module and whether the compiler inlined it.</summary>
public sealed class DetailsPage(Func<ViewerData> data, Func<FunctionMetrics?> site) : IPage
{
    int _stack;
    int _top;
    IReadOnlyList<(StackId Stack, AllocationMetrics Metrics)> _stacks = [];
    ViewerData? _stacksData;
    FunctionMetrics? _stacksSite;

    public string Title => "Details";
    public string Help => "n/p next/previous stack  ↑↓ scroll";

    /// <summary>The stacks whose site is this one, most allocated bytes first.</summary>
    public static IReadOnlyList<(StackId Stack, AllocationMetrics Metrics)> StacksOf(ViewerData d, FunctionMetrics s) =>
        d.Selected.ByStack
            .Where(kv => s.Function is { } f ? !kv.Key.IsNone && IsSiteOf(d, kv.Key, f) : kv.Key.IsNone)
            .OrderByDescending(kv => kv.Value.AllocatedBytes).ThenBy(kv => kv.Key.Index)
            .Select(kv => (kv.Key, kv.Value)).ToList();

    static bool IsSiteOf(ViewerData d, StackId stack, FunctionId function) =>
        SiteAnalysis.SiteOfStack(d.Tables, stack, d.Selected.Options.SiteMode) is { } site &&
        d.Tables.Frame(site.Frame).Function == function;

    public PageScreen Render(int width, int height)
    {
        var lines = new List<string>();
        if (site() is not { } s)
        {
            lines.Add(Text.Fit("No site selected: pick one in Top sites (1) or the call tree (2).", width));
            return new PageScreen(lines);
        }
        var d = data();
        var m = s.Metrics;
        lines.Add(Text.Fit(s.Label, width));
        lines.Add(Text.Fit("  " + SitesPage.Where(s), width));
        lines.Add(Text.Fit($"  retained {ReportFormat.Bytes(m.RetainedBytes)} in {ReportFormat.Counted(m.RetainedBlocks, "block")}   " +
                           $"at peak {ReportFormat.Bytes(m.PeakBytes)}   leaked {ReportFormat.Bytes(m.LeakedBytes)}", width));
        lines.Add(Text.Fit($"  allocated {ReportFormat.Bytes(m.AllocatedBytes)} in {ReportFormat.Counted(m.AllocatedBlocks, "block")}   " +
                           $"freed {ReportFormat.Bytes(m.FreedBytes)}   avg life {ReportFormat.Duration(m.AverageLifetimeNanos)}   " +
                           $"short-lived {ReportFormat.Percent(m.ShortLivedShare)}", width));
        // Finding a site's stacks walks every allocating stack: once per site and data, not per key press.
        if (!ReferenceEquals(_stacksData, d) || !ReferenceEquals(_stacksSite, s)) (_stacks, _stacksData, _stacksSite) = (StacksOf(d, s), d, s);
        var stacks = _stacks;
        if (stacks.Count == 0)
        {
            lines.Add(Text.Fit("  (no stack recorded)", width));
            return new PageScreen(lines);
        }
        _stack = Math.Clamp(_stack, 0, stacks.Count - 1);
        var (stack, sm) = stacks[_stack];
        lines.Add(Text.Fit($"Stack {_stack + 1} of {stacks.Count}: {ReportFormat.Bytes(sm.AllocatedBytes)} allocated, " +
                           $"{ReportFormat.Bytes(sm.RetainedBytes)} retained (innermost first)", width));
        var frames = d.Tables.FramesLeafFirst(stack).Select((f, i) => FrameLine(d.Tables, f, i)).ToList();
        int room = Math.Max(1, height - lines.Count);
        _top = Math.Clamp(_top, 0, Math.Max(0, frames.Count - room));
        lines.AddRange(frames.Skip(_top).Take(room).Select(f => Text.Fit(f, width)));
        return new PageScreen(lines);
    }

    static string FrameLine(CallTreeTables tables, FrameId id, int index)
    {
        var frame = tables.Frame(id);
        var function = tables.Function(frame.Function);
        string where = function.File is null ? (frame.Line is { } l ? $"line {l}" : "") : frame.Line is { } line ? $"{function.File}:{line}" : function.File;
        string module = frame.Module is { } m ? $"[{tables.Module(m).Name}]" : "";
        string inlined = frame.InlineDepth > 0 ? " (inlined)" : "";
        string kind = SiteAnalysis.KindOf(tables, id) switch
        {
            FrameKind.Allocator => " ·alloc",
            FrameKind.Library => " ·lib",
            _ => "",
        };
        return $"{index,3} {function.Name}{inlined}{kind}  {where}  {module}".TrimEnd();
    }

    public bool Handle(PageKey key)
    {
        switch (key)
        {
            case PageKey.Up: _top = Math.Max(0, _top - 1); return true;
            case PageKey.Down: _top++; return true;
            case PageKey.PageUp or PageKey.Home: _top = 0; return true;
            default: return false;
        }
    }

    public bool Handle(char c)
    {
        switch (c)
        {
            case 'n': _stack++; _top = 0; return true;
            case 'p': _stack = Math.Max(0, _stack - 1); _top = 0; return true;
            default: return false;
        }
    }

    public void Reset() => (_stack, _top) = (0, 0);
}
