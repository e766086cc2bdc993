using Profiler.Core.Analysis;
using Profiler.Formatting;

namespace Profiler.Viewer.ViewModels;

/// <summary>The call tree, top-down or inverted, with total and self of one metric, expandable,
/// filtered by a search on function or module name.</summary>
public sealed class CallTreePage(Func<ViewerData> data) : IPage
{
    const int FigureWidth = 10;
    readonly HashSet<string> _expanded = [];
    ViewerData? _builtFrom;
    bool _builtInverted;
    CallTreeNode _root = new(null, "", null, null);
    int _top;
    bool _typing;

    public bool Inverted { get; private set; }
    public SiteOrder Metric { get; private set; } = SiteOrder.Retained;
    public string Filter { get; private set; } = "";
    public int SelectedIndex { get; private set; }
    public string Title => Inverted ? "Call tree (inverted)" : "Call tree";
    public string Help => _typing ? "type to search  ↵ done  esc clear" : "→ expand  ← collapse  e chain  i invert  m metric  / search";
    public bool CapturesText => _typing;

    public CallTreeNode Root
    {
        get
        {
            var d = data();
            if (!ReferenceEquals(d, _builtFrom) || _builtInverted != Inverted)
            {
                _root = CallTree.Build(d.Tables, d.Selected.ByStack, Inverted);
                (_builtFrom, _builtInverted) = (d, Inverted);
            }
            return _root;
        }
    }

    /// <summary>The nodes shown, in order: children of expanded nodes, biggest first; with a
    /// filter, only paths to matching nodes, expanded.</summary>
    public IReadOnlyList<CallTreeNode> Visible()
    {
        var list = new List<CallTreeNode>();
        foreach (var child in Sorted(Root)) Walk(child, list);
        SelectedIndex = Math.Clamp(SelectedIndex, 0, Math.Max(0, list.Count - 1));
        return list;
    }

    void Walk(CallTreeNode node, List<CallTreeNode> list)
    {
        if (Filter.Length > 0 && !Matches(node)) return;
        list.Add(node);
        if (Filter.Length > 0 ? !SelfMatches(node) || _expanded.Contains(Key(node)) : _expanded.Contains(Key(node)))
            foreach (var child in Sorted(node)) Walk(child, list);
    }

    IEnumerable<CallTreeNode> Sorted(CallTreeNode node) =>
        node.Children.Where(c => SiteRanking.KeyOf(c.Total, Metric) > 0)
            .OrderByDescending(c => SiteRanking.KeyOf(c.Total, Metric)).ThenBy(c => c.Name, StringComparer.Ordinal);

    bool SelfMatches(CallTreeNode n) =>
        n.Name.Contains(Filter, StringComparison.OrdinalIgnoreCase) || (n.Module?.Contains(Filter, StringComparison.OrdinalIgnoreCase) ?? false);

    bool Matches(CallTreeNode n) => SelfMatches(n) || n.Children.Any(Matches);

    /// <summary>A node's identity across rebuilds: its path of names.</summary>
    static string Key(CallTreeNode n) => n.Parent is null ? "" : Key(n.Parent) + "\u0001" + n.Name + "\u0002" + n.Module;

    public CallTreeNode? Selected { get { var v = Visible(); return v.Count > 0 ? v[SelectedIndex] : null; } }

    public PageScreen Render(int width, int height)
    {
        var visible = Visible();
        var lines = new List<string>
        {
            Text.Fit($"{Text.Fit(Inverted ? "function (callers below)" : "function (callees below)", width - 2 * FigureWidth)}" +
                     Text.Right("total", FigureWidth) + Text.Right("self", FigureWidth), width),
        };
        int rows = Math.Max(1, height - 3);
        _top = Math.Clamp(_top, Math.Max(0, SelectedIndex - rows + 1), SelectedIndex);
        for (int i = _top; i < Math.Min(visible.Count, _top + rows); i++)
        {
            var n = visible[i];
            string marker = Sorted(n).Any() ? (Filter.Length == 0 && !_expanded.Contains(Key(n)) ? "▸ " : "▾ ") : "  ";
            string label = new string(' ', Math.Min(n.Depth, 40)) + marker + n.Name;
            lines.Add(Text.Fit(label, width - 2 * FigureWidth) + Text.Right(Figure(n.Total), FigureWidth) + Text.Right(Figure(n.Self), FigureWidth));
        }
        if (visible.Count == 0) lines.Add(Text.Fit(Filter.Length > 0 ? $"(nothing matches '{Filter}')" : "(no allocations)", width));
        while (lines.Count < height - 2) lines.Add(new string(' ', width));
        lines.Add(new string('─', width));
        string status = $"metric: {Metric.CommandName()}" + (Filter.Length > 0 || _typing ? $"   search: {Filter}{(_typing ? "_" : "")}" : "") +
                        (Selected is { Module: { } module } ? $"   [{module}]" : "");
        lines.Add(Text.Fit(status, width));
        return new PageScreen(lines, visible.Count > 0 ? 1 + SelectedIndex - _top : -1);
    }

    string Figure(in AllocationMetrics m) => Metric is SiteOrder.Count or SiteOrder.ShortLived
        ? ReportFormat.Count(SiteRanking.KeyOf(m, Metric))
        : ReportFormat.Bytes((long)SiteRanking.KeyOf(m, Metric));

    public bool Handle(PageKey key)
    {
        var visible = Visible();
        var selected = visible.Count > 0 ? visible[SelectedIndex] : null;
        if (_typing)
        {
            switch (key)
            {
                case PageKey.Enter: _typing = false; return true;
                case PageKey.Escape: _typing = false; Filter = ""; return true;
                case PageKey.Backspace: if (Filter.Length > 0) Filter = Filter[..^1]; return true;
            }
        }
        switch (key)
        {
            case PageKey.Up: SelectedIndex = Math.Max(0, SelectedIndex - 1); return true;
            case PageKey.Down: SelectedIndex = Math.Min(Math.Max(0, visible.Count - 1), SelectedIndex + 1); return true;
            case PageKey.PageUp: SelectedIndex = Math.Max(0, SelectedIndex - 10); return true;
            case PageKey.PageDown: SelectedIndex = Math.Min(Math.Max(0, visible.Count - 1), SelectedIndex + 10); return true;
            case PageKey.Home: SelectedIndex = 0; return true;
            case PageKey.End: SelectedIndex = Math.Max(0, visible.Count - 1); return true;
            case PageKey.Right or PageKey.Enter when selected is not null: _expanded.Add(Key(selected)); return true;
            case PageKey.Left when selected is not null:
                if (_expanded.Remove(Key(selected))) return true;
                if (selected.Parent is { Parent: not null } parent) SelectedIndex = visible.ToList().IndexOf(parent);
                return true;
            case PageKey.Escape when Filter.Length > 0: Filter = ""; return true;
            default: return false;
        }
    }

    public bool Handle(char c)
    {
        if (_typing)
        {
            if (char.IsControl(c)) return false;
            Filter += c;
            SelectedIndex = 0;
            return true;
        }
        switch (c)
        {
            case '/': _typing = true; Filter = ""; return true;
            case 'i': Inverted = !Inverted; _expanded.Clear(); SelectedIndex = 0; return true;
            case 'm': Metric = (SiteOrder)(((int)Metric + 1) % Enum.GetValues<SiteOrder>().Length); return true;
            case 'e': ExpandHeaviestChain(); return true;
            default: return false;
        }
    }

    /// <summary>Expands the selected node and, below it, the heaviest child at each level, and
    /// selects the chain's end (so the allocating end of a deep stack comes into view).</summary>
    public void ExpandHeaviestChain()
    {
        CallTreeNode? last = null;
        for (var node = Selected; node is not null; node = Sorted(node).FirstOrDefault())
        {
            if (node.Children.Count > 0) _expanded.Add(Key(node));
            last = node;
        }
        if (last is not null) SelectedIndex = Math.Max(0, Visible().ToList().IndexOf(last));
    }
}
