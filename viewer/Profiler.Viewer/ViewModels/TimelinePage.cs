using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Formatting;

namespace Profiler.Viewer.ViewModels;

/// <summary>
/// The total heap over time as a bar chart, one column per time slice showing the highest live
/// bytes in it, with the peak marked. A cursor moves over the columns; space marks one end of a
/// range and then the other, and the range narrows the other views. A .NET program's GC heap (the
/// runtime's own counter, never part of the native figures) is a line of dots on the same scale.
/// </summary>
public sealed class TimelinePage(Func<ViewerData> data, Action<TimeRange?> select) : IPage
{
    const int AxisWidth = 10;
    public const char GcHeapMark = '•';
    int _columns = 1;
    long _durationNanos = 1;
    int? _anchor;

    public int Cursor { get; private set; }
    public string Title => "Timeline";
    public string Help => "←→ move  space mark range  esc whole  g peak";

    HeapTimeline Overall => data().Whole.Timelines.Overall;

    long Duration()
    {
        var d = data();
        long last = Overall.Points.Count > 0 ? Overall.Points[^1].TimeNanos : 0;
        long lastManaged = d.Model.ManagedHeap.Count > 0 ? d.Model.ManagedHeap[^1].TimeNanos : 0;
        return Math.Max(1, Math.Max(d.Model.Info.DurationNanos, Math.Max(last, lastManaged)));
    }

    public long TimeOfColumn(int column) => (long)((double)column / _columns * _durationNanos);

    public int ColumnOf(long time) => Math.Clamp((int)((double)time / _durationNanos * _columns), 0, _columns - 1);

    /// <summary>Highest live bytes in each column (the level carried into columns without a change).</summary>
    public static long[] Columns(HeapTimeline timeline, long durationNanos, int columns)
    {
        var heights = new long[columns];
        long carried = 0;
        int point = 0;
        var points = timeline.Points;
        for (int c = 0; c < columns; c++)
        {
            long end = (long)((double)(c + 1) / columns * durationNanos);
            long max = carried;
            while (point < points.Count && (points[point].TimeNanos < end || c == columns - 1))
            {
                max = Math.Max(max, points[point].LiveBytes);
                carried = points[point].LiveBytes;
                point++;
            }
            heights[c] = max;
        }
        return heights;
    }

    /// <summary>The GC heaps' total (every .NET process's latest figure added up) after each sample.</summary>
    public static List<(long TimeNanos, long Bytes)> ManagedTotals(IReadOnlyList<ManagedHeapSample> samples)
    {
        var latest = new Dictionary<uint, long>();
        var totals = new List<(long, long)>(samples.Count);
        long total = 0;
        foreach (var sample in samples.OrderBy(s => s.TimeNanos))
        {
            total += sample.Bytes - latest.GetValueOrDefault(sample.Pid);
            latest[sample.Pid] = sample.Bytes;
            totals.Add((sample.TimeNanos, total));
        }
        return totals;
    }

    /// <summary>Highest GC heap total in each column; null before its first sample.</summary>
    public static long?[] ManagedColumns(IReadOnlyList<(long TimeNanos, long Bytes)> totals, long durationNanos, int columns)
    {
        var result = new long?[columns];
        long? carried = null;
        int point = 0;
        for (int c = 0; c < columns; c++)
        {
            long end = (long)((double)(c + 1) / columns * durationNanos);
            long? max = carried;
            while (point < totals.Count && (totals[point].TimeNanos < end || c == columns - 1))
            {
                max = Math.Max(max ?? 0, totals[point].Bytes);
                carried = totals[point].Bytes;
                point++;
            }
            result[c] = max;
        }
        return result;
    }

    public PageScreen Render(int width, int height)
    {
        var overall = Overall;
        _durationNanos = Duration();
        _columns = Math.Max(1, width - AxisWidth - 1);
        Cursor = Math.Clamp(Cursor, 0, _columns - 1);
        var heights = Columns(overall, _durationNanos, _columns);
        var managed = ManagedTotals(data().Model.ManagedHeap);
        var gc = managed.Count > 0 ? ManagedColumns(managed, _durationNanos, _columns) : null;
        int peakColumn = overall.PeakBytes > 0 ? ColumnOf(overall.PeakTimeNanos) : -1;
        long top = Math.Max(1, Math.Max(heights.DefaultIfEmpty().Max(), gc?.Max(b => b ?? 0) ?? 0));
        int rows = Math.Max(2, height - (gc is null ? 6 : 7));
        var lines = new List<string>
        {
            Text.Fit($"peak {ReportFormat.Bytes(overall.PeakBytes)} at {ReportFormat.Time(overall.PeakTimeNanos)}   " +
                     $"now {ReportFormat.Bytes(overall.FinalLiveBytes)}   ({(overall.Source == HeapSource.Counters ? "exact counters" : "from events")})", width),
        };
        if (gc is not null)
        {
            var (peakTime, peakBytes) = managed.MaxBy(t => t.Bytes);
            lines.Add(Text.Fit($"{GcHeapMark} GC heap peak {ReportFormat.Bytes(peakBytes)} at {ReportFormat.Time(peakTime)}   " +
                               $"now {ReportFormat.Bytes(managed[^1].Bytes)}   (.NET runtime's own counter)", width));
        }
        lines.Add(Text.Fit(new string(' ', AxisWidth + 1) + Marker(peakColumn, '▼'), width));
        for (int r = rows; r >= 1; r--)
        {
            string axis = r == rows ? ReportFormat.Bytes(top) : r == 1 ? "0" : "";
            var row = new char[_columns];
            for (int c = 0; c < _columns; c++)
            {
                double level = (double)heights[c] / top * rows;
                row[c] = level >= r ? '█' : level >= r - 0.5 ? '▄' : ' ';
                if (gc?[c] is { } bytes && GcRow(bytes, top, rows) == r) row[c] = GcHeapMark;
            }
            lines.Add(Text.Fit(Text.Right(axis, AxisWidth) + "│" + new string(row), width));
        }
        lines.Add(Text.Fit(new string(' ', AxisWidth) + "└" + RangeAxis(), width));
        lines.Add(Text.Fit(new string(' ', AxisWidth + 1) + Marker(Cursor, '▲'), width));
        var range = data().Range;
        string selection = _anchor is { } a ? $"marking from {ReportFormat.Time(TimeOfColumn(a))}: move, then space"
            : range is { } sel ? $"selected {ReportFormat.Time(sel.StartNanos)} – {ReportFormat.Time(sel.EndNanos)}: other views show allocations made in it"
            : "whole recording selected";
        lines.Add(Text.Fit($"cursor {ReportFormat.Time(TimeOfColumn(Cursor))}   {selection}", width));
        return new PageScreen(lines);
    }

    /// <summary>The chart row (1 the lowest) a GC heap total is drawn in.</summary>
    public static int GcRow(long bytes, long top, int rows) => Math.Clamp((int)Math.Round((double)bytes / top * rows), 1, rows);

    string Marker(int column, char mark) => column < 0 ? "" : new string(' ', column) + mark;

    string RangeAxis()
    {
        var axis = new char[_columns];
        var range = data().Range;
        for (int c = 0; c < _columns; c++)
        {
            bool inRange = _anchor is { } a ? c >= Math.Min(a, Cursor) && c <= Math.Max(a, Cursor)
                : range is { } r && r.Contains(TimeOfColumn(c));
            axis[c] = inRange ? '═' : '─';
        }
        return new string(axis);
    }

    public bool Handle(PageKey key)
    {
        switch (key)
        {
            case PageKey.Left: Cursor = Math.Max(0, Cursor - 1); return true;
            case PageKey.Right: Cursor = Math.Min(_columns - 1, Cursor + 1); return true;
            case PageKey.PageUp or PageKey.Home: Cursor = 0; return true;
            case PageKey.PageDown or PageKey.End: Cursor = _columns - 1; return true;
            case PageKey.Escape: _anchor = null; select(null); return true;
            default: return false;
        }
    }

    public bool Handle(char c)
    {
        switch (c)
        {
            case ' ' when _anchor is { } a:
                _anchor = null;
                select(TimeRange.Between(TimeOfColumn(Math.Min(a, Cursor)), TimeOfColumn(Math.Max(a, Cursor) + 1)));
                return true;
            case ' ': _anchor = Cursor; return true;
            case 'g': if (Overall.PeakBytes > 0) Cursor = ColumnOf(Overall.PeakTimeNanos); return true;
            default: return false;
        }
    }
}
