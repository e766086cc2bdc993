using Profiler.Core.Analysis;
using Profiler.Formatting;

namespace Profiler.Viewer.ViewModels;

/// <summary>Top sites: every allocation site with its DHAT-style figures, sorted by a column.</summary>
public sealed class SitesPage(Func<ViewerData> data) : IPage
{
    static readonly SiteOrder[] Columns = Enum.GetValues<SiteOrder>();
    static readonly string[] Headers = ["retained", "allocated", "at peak", "leaked", "blocks", "short"];
    const int FigureWidth = 10;

    ViewerData? _rowsOf;
    SiteOrder _rowsOrder;
    IReadOnlyList<FunctionMetrics> _rows = [];
    int _top;

    public SiteOrder Order { get; private set; } = SiteOrder.Retained;
    public int SelectedIndex { get; private set; }
    public string Title => "Top sites";
    public string Help => "←→ sort  ↵ details";

    /// <summary>The sites in display order: all with a non-zero figure in the sorted column.</summary>
    public IReadOnlyList<FunctionMetrics> Rows
    {
        get
        {
            var d = data();
            if (!ReferenceEquals(d, _rowsOf) || _rowsOrder != Order)
            {
                _rows = SiteRanking.Top(d.Sites, Order, int.MaxValue);
                (_rowsOf, _rowsOrder) = (d, Order);
                SelectedIndex = Math.Clamp(SelectedIndex, 0, Math.Max(0, _rows.Count - 1));
            }
            return _rows;
        }
    }

    public FunctionMetrics? Selected => Rows.Count > 0 ? Rows[SelectedIndex] : null;

    public PageScreen Render(int width, int height)
    {
        var rows = Rows;
        int nameWidth = Math.Max(8, width - 2 - Columns.Length * FigureWidth);
        var lines = new List<string>
        {
            Text.Fit($"{Text.Fit("site", nameWidth)}  " + string.Concat(Columns.Select((c, i) =>
                Text.Right((c == Order ? "▼" : "") + Headers[i], FigureWidth))), width),
        };
        int visible = Math.Max(1, height - 3);
        _top = Math.Clamp(_top, Math.Max(0, SelectedIndex - visible + 1), SelectedIndex);
        for (int i = _top; i < Math.Min(rows.Count, _top + visible); i++)
            lines.Add(Text.Fit($"{Text.Fit(rows[i].Label, nameWidth)}  {Figures(rows[i].Metrics)}", width));
        if (rows.Count == 0) lines.Add(Text.Fit("(no allocation sites with a non-zero figure in this column)", width));
        while (lines.Count < height - 2) lines.Add(new string(' ', width));
        lines.Add(new string('─', width));
        lines.Add(Text.Fit(Selected is { } s ? Where(s) : "", width));
        return new PageScreen(lines, rows.Count > 0 ? 1 + SelectedIndex - _top : -1);
    }

    static string Figures(in AllocationMetrics m) =>
        Text.Right(ReportFormat.Bytes(m.RetainedBytes), FigureWidth) + Text.Right(ReportFormat.Bytes(m.AllocatedBytes), FigureWidth) +
        Text.Right(ReportFormat.Bytes(m.PeakBytes), FigureWidth) + Text.Right(ReportFormat.Bytes(m.LeakedBytes), FigureWidth) +
        Text.Right(ReportFormat.Count(m.AllocatedBlocks), FigureWidth) + Text.Right(ReportFormat.Percent(m.ShortLivedShare), FigureWidth);

    /// <summary>"file:lines  [module]" of a site, as the report prints it.</summary>
    public static string Where(FunctionMetrics site) =>
        SiteLabel.Where(site, noLocation: "(no source location)");

    public bool Handle(PageKey key)
    {
        int count = Rows.Count;
        switch (key)
        {
            case PageKey.Up: SelectedIndex = Math.Max(0, SelectedIndex - 1); return true;
            case PageKey.Down: SelectedIndex = Math.Clamp(SelectedIndex + 1, 0, Math.Max(0, count - 1)); return true;
            case PageKey.PageUp: SelectedIndex = Math.Max(0, SelectedIndex - 10); return true;
            case PageKey.PageDown: SelectedIndex = Math.Clamp(SelectedIndex + 10, 0, Math.Max(0, count - 1)); return true;
            case PageKey.Home: SelectedIndex = 0; return true;
            case PageKey.End: SelectedIndex = Math.Max(0, count - 1); return true;
            case PageKey.Left: SortBy(Columns[(Array.IndexOf(Columns, Order) + Columns.Length - 1) % Columns.Length]); return true;
            case PageKey.Right: SortBy(Columns[(Array.IndexOf(Columns, Order) + 1) % Columns.Length]); return true;
            default: return false;
        }
    }

    public bool Handle(char c) => false;

    public void SortBy(SiteOrder order)
    {
        Order = order;
        SelectedIndex = 0;
        _top = 0;
    }
}
