using Profiler.Core.Model;
using Profiler.Viewer.ViewModels;
using Profiler.Formatting;
using Terminal.Gui.Input;

namespace Profiler.Viewer.Tests;

/// <summary>Each view driven through the terminal driver on the recorded fixture, 80×24.</summary>
public sealed class ScreenTests
{
    const int HeaderRows = 3;

    [Fact]
    public void TopSites_sorted_by_retained_puts_the_leak_first()
    {
        using var ui = new Headless(Fixture.Leak);
        var lines = ui.Lines;
        Assert.Contains("▼retained", lines[HeaderRows]);
        string first = lines[HeaderRows + 1];
        Assert.StartsWith(Fixture.LeakSite, first);
        Assert.Contains(ReportFormat.Bytes(Fixture.LeakedBytes), first);
        // The selected site's location, from the sample's source.
        Assert.Contains("samples/rust/allocs/src/main.rs:", lines[^2]);
        Assert.Contains("[allocs-fp]", lines[^2]);
        Golden.Verify("golden/top-sites.txt", ui.Screen);
    }

    [Fact]
    public void TopSites_sorts_by_another_column()
    {
        using var ui = new Headless(Fixture.Leak);
        ui.Press(Key.CursorRight);
        Assert.Contains("▼allocated", ui.Lines[HeaderRows]);
        var allocated = ui.State.Sites.Rows.Select(r => r.Metrics.AllocatedBytes).ToList();
        Assert.Equal(allocated.OrderByDescending(b => b), allocated);
    }

    [Fact]
    public void CallTree_expands_the_leak_chain()
    {
        using var ui = new Headless(Fixture.Leak);
        ui.Type("2").Type("e");
        var rows = ui.Lines.ToList();
        int[] at = [.. Fixture.LeakChain.Select(f => rows.FindIndex(l => l.Contains(" " + f + " ")))];
        Assert.All(at, i => Assert.True(i > 0, string.Join('\n', rows)));
        Assert.True(at[0] < at[1] && at[1] < at[2], string.Join('\n', rows));
        // Each callee one level deeper than its caller.
        int Indent(int row) => rows[row].IndexOf(Fixture.LeakChain[Array.IndexOf(at, row)], StringComparison.Ordinal);
        Assert.True(Indent(at[0]) < Indent(at[1]) && Indent(at[1]) < Indent(at[2]));
        Assert.Contains(ReportFormat.Bytes(Fixture.LeakedBytes), rows[at[2]]);
        Golden.Verify("golden/call-tree.txt", ui.Screen);
    }

    [Fact]
    public void CallTree_inverted_starts_from_the_allocating_function()
    {
        using var ui = new Headless(Fixture.Leak);
        ui.Type("2i");
        // Follow the heaviest caller four levels up from the allocating function.
        for (int level = 0; level < 4; level++) ui.Press(Key.CursorRight, Key.CursorDown);
        var rows = ui.Lines.ToList();
        Assert.Contains("[2 Call tree (inverted)]", rows[2]);
        int[] at = [.. Fixture.LeakChain.Reverse().Select(f => rows.FindIndex(l => l.Contains(f)))];
        Assert.All(at, i => Assert.True(i > 0, string.Join('\n', rows)));
        Assert.True(at[0] < at[1] && at[1] < at[2], string.Join('\n', rows));
    }

    [Fact]
    public void CallTree_search_keeps_only_paths_to_matches()
    {
        using var ui = new Headless(Fixture.Leak);
        ui.Type("2/leak_middle").Press(Key.Enter);
        var names = ui.State.Tree.Visible().Select(n => n.Name).ToList();
        Assert.Contains("allocs::leak_middle", names);
        Assert.Contains("allocs::leak_outer", names);
        Assert.DoesNotContain("allocs::churn", names);
        Assert.Contains("search: leak_middle", ui.Screen);
    }

    [Fact]
    public void Timeline_marks_the_peak_of_the_exact_counters()
    {
        using var ui = new Headless(Fixture.Leak);
        ui.Type("3");
        // The oracle: the collector's exact counters, read straight from the recording.
        var peak = Fixture.Leak.Counters.MaxBy(c => c.PeakLiveBytes)!;
        var lines = ui.Lines;
        Assert.Contains($"peak {ReportFormat.Bytes(peak.PeakLiveBytes)} at {ReportFormat.Time(peak.PeakTimeNanos)}", lines[HeaderRows]);
        int marker = lines[HeaderRows + 1].IndexOf('▼');
        Assert.True(marker > 0);
        // The marked column holds the tallest bar: its top row is filled there.
        string topRow = lines[HeaderRows + 2];
        Assert.Contains(topRow[marker], "█▄");
        ui.Type("g");
        Assert.Equal(marker, ui.Lines.Single(l => l.Contains('▲')).IndexOf('▲'));
        Golden.Verify("golden/timeline.txt", ui.Screen);
    }

    /// <summary>The fixture's native heap with GC heap figures of two .NET processes (their latest
    /// figures add up): the GC heap is a line of dots on the native chart's scale, with its legend.</summary>
    [Fact]
    public void Timeline_draws_the_GC_heap_as_a_second_line_beside_the_native_heap()
    {
        var leak = Fixture.Leak;
        uint pid = leak.Info.TargetPid;
        long duration = leak.Info.DurationNanos;
        var model = new ProfileModel
        {
            Info = leak.Info, Tables = leak.Tables, Processes = leak.Processes, Events = leak.Events, Counters = leak.Counters,
            ManagedHeap = [new(pid, duration / 10, 20_000), new(pid + 1, duration / 5, 30_000), new(pid, duration / 2, 70_000), new(pid, duration * 9 / 10, 40_000)],
        };
        using var ui = new Headless(model);
        ui.Type("3");
        var lines = ui.Lines;
        var peak = leak.Counters.MaxBy(c => c.PeakLiveBytes)!;
        Assert.Contains($"peak {ReportFormat.Bytes(peak.PeakLiveBytes)} at {ReportFormat.Time(peak.PeakTimeNanos)}", lines[HeaderRows]);
        Assert.Contains($"• GC heap peak {ReportFormat.Bytes(100_000)} at {ReportFormat.Time(duration / 2)}   now {ReportFormat.Bytes(70_000)}",
            lines[HeaderRows + 1]);

        int first = HeaderRows + 3, axis = Array.FindIndex(lines, l => l.Contains('└'));
        int rows = axis - first;
        // One scale for both: its top is the GC heap's peak, above the native one (41.3 KiB).
        Assert.StartsWith(ReportFormat.Bytes(100_000).PadLeft(10) + "│", lines[first]);
        int x0 = lines[first].IndexOf('│') + 1;
        var timeline = ui.State.Timeline;
        // Each column's dot sits at the row of the highest total in it (carried into columns without a sample).
        void DotAt(long time, long bytes)
        {
            int x = x0 + timeline.ColumnOf(time);
            var dots = Enumerable.Range(first, rows).Where(y => lines[y][x] == TimelinePage.GcHeapMark).ToList();
            int expectedRow = first + rows - (int)Math.Round((double)bytes / 100_000 * rows);
            Assert.True(dots.SequenceEqual([expectedRow]), $"column {x}: dots in rows {string.Join(",", dots)}, expected {expectedRow}\n{ui.Screen}");
        }
        DotAt(duration / 2, 100_000);
        DotAt(duration * 9 / 10 + duration / 20, 70_000);
        DotAt(duration / 5 + duration / 20, 50_000);
        // Before the first figure, no dot.
        int before = x0 + timeline.ColumnOf(duration / 20);
        Assert.DoesNotContain(Enumerable.Range(first, rows), y => lines[y][before] == TimelinePage.GcHeapMark);
    }

    [Fact]
    public void Timeline_range_narrows_the_other_views()
    {
        using var ui = new Headless(Fixture.Leak);
        // A range from the start to just before the first leak allocation leaves the leak out.
        var leakTimes = LeakAllocationTimes();
        ui.Type("3").Press(Key.Home).Type(" ");
        while (ui.State.Timeline.TimeOfColumn(ui.State.Timeline.Cursor + 2) < leakTimes.Min()) ui.Press(Key.CursorRight);
        ui.Type(" ");
        Assert.NotNull(ui.State.Data.Range);
        Assert.True(ui.State.Data.Range!.Value.EndNanos < leakTimes.Min());
        Assert.Contains("range", ui.Lines[1]);
        ui.Type("1");
        Assert.DoesNotContain(Fixture.LeakSite, ui.Screen);
        // Back to the whole recording.
        ui.Type("3").Press(Key.Esc).Type("1");
        Assert.StartsWith(Fixture.LeakSite, ui.Lines[HeaderRows + 1]);
    }

    static List<long> LeakAllocationTimes()
    {
        var m = Fixture.Leak;
        var t = m.Tables;
        return [.. Enumerable.Range(0, m.Events.Count)
            .Where(i => m.Events.Kind[i] == EventKind.Alloc && !m.Events.Stack[i].IsNone &&
                        t.FramesLeafFirst(m.Events.Stack[i]).Any(f => t.FunctionName(f) == Fixture.LeakSite))
            .Select(i => m.Events.TimeNanos[i])];
    }

    [Fact]
    public void Details_show_the_full_stack_with_file_and_line()
    {
        using var ui = new Headless(Fixture.Leak);
        ui.Press(Key.Enter);
        var screen = ui.Screen;
        Assert.Contains("[4 Details]", screen);
        var lines = ui.Lines.ToList();
        int[] at = [.. Fixture.LeakChain.Reverse().Select(f => lines.FindIndex(l => l.TrimStart().Split(' ').Skip(1).FirstOrDefault() == f))];
        Assert.All(at, i => Assert.True(i > 0, screen));
        Assert.True(at[0] < at[1] && at[1] < at[2], screen);
        Assert.Matches(@"allocs::leak_leaf.*samples/rust/allocs/src/main\.rs:\d+\s+\[allocs-fp\]", lines[at[0]]);
        Assert.Contains("malloc", screen);
        Golden.Verify("golden/details.txt", screen);
    }

    [Fact]
    public void Resizes_to_a_larger_terminal()
    {
        using var ui = new Headless(Fixture.Leak);
        ui.Resize(132, 40);
        var lines = ui.Lines;
        Assert.Equal(132, lines[0].Length);
        Assert.StartsWith(Fixture.LeakSite, lines[HeaderRows + 1]);
        Assert.Contains("q quit", lines[39]);
    }

    [Fact]
    public void Escape_does_not_quit_and_q_does()
    {
        using var ui = new Headless(Fixture.Leak);
        ui.Press(Key.Esc);
        Assert.False(ui.State.QuitRequested);
        ui.Type("q");
        Assert.True(ui.State.QuitRequested);
    }
}
