using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Viewer.ViewModels;

namespace Profiler.Viewer.Tests;

/// <summary>Top sites and Details name the program's function and the standard-library path it
/// allocated through; --sites innermost shows the innermost frame instead.</summary>
public sealed class ProgramSiteScreenTests
{
    const string Rustc = "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library";

    /// <summary>app::parse allocates 3 × 100 B through Vec::reserve (two call lines) and 1 × 20 B
    /// through String::clone; everything is freed but one Vec block.</summary>
    static ProfileModel Model()
    {
        var t = new CallTreeTables();
        var app = t.InternModule("/opt/app/bin/app", "");
        var libc = t.InternModule("/usr/lib/x86_64-linux-gnu/libc.so.6", "");
        ulong next = 0x1000;
        FrameId Frame(string name, ModuleId module, string? file, int? line = null) =>
            t.InternFrame(t.InternFunction(name, module, file, null), module, next += 0x10, line, 0);
        StackId Stack(params FrameId[] rootToLeaf) => rootToLeaf.Aggregate(StackId.None, t.InternStack);
        var main = Frame("main", app, "src/main.rs", 3);
        var malloc = Frame("malloc", libc, null);
        var reserve = Frame("<alloc::vec::Vec<u8>>::reserve", app, $"{Rustc}/alloc/src/vec/mod.rs", 900);
        var clone = Frame("<alloc::string::String as core::clone::Clone>::clone", app, $"{Rustc}/alloc/src/string.rs", 2100);
        var viaReserve1 = Stack(main, Frame("app::parse", app, "src/parse.rs", 12), reserve, malloc);
        var viaReserve2 = Stack(main, Frame("app::parse", app, "src/parse.rs", 14), reserve, malloc);
        var viaClone = Stack(main, Frame("app::parse", app, "src/parse.rs", 20), clone, malloc);
        (EventKind, ulong, ulong, StackId)[] events =
        [
            (EventKind.Alloc, 0x10, 100, viaReserve1), (EventKind.Alloc, 0x20, 100, viaReserve1), (EventKind.Alloc, 0x30, 100, viaReserve2),
            (EventKind.Alloc, 0x40, 20, viaClone), (EventKind.Free, 0x10, 0, StackId.None), (EventKind.Free, 0x30, 0, StackId.None),
            (EventKind.Free, 0x40, 0, StackId.None),
        ];
        return new ProfileModel
        {
            Info = new RecordingInfo(["app"], 1, DateTimeOffset.UnixEpoch, 1_000_000, "test", "test", 1, true, 0, []),
            Tables = t,
            Processes = [new ProcessInfo(1, "app", 0, null, null, [new ThreadInfo(1, "app")])],
            Events = new AllocationTable(Columns(events), [.. events.Select(e => e.Item4)]),
        };
    }

    static EventColumns Columns((EventKind Kind, ulong Address, ulong Size, StackId)[] events)
    {
        var columns = new EventColumns();
        foreach (var (e, i) in events.Select((e, i) => (e, i)))
            columns.Add(new RawEvent(e.Kind, 1000L * i, 1, 1, e.Address, e.Size, e.Size, 0,
                e.Kind == EventKind.Alloc ? AllocFunction.Malloc : AllocFunction.FreeFunction));
        return columns;
    }

    [Fact]
    public void Top_sites_and_details_show_the_programs_function_and_the_path()
    {
        var state = new ViewerState(Model());
        state.Sites.SortBy(SiteOrder.Allocated);
        var screen = state.Render(100, 20).Lines;
        // One row for the function, named by its heavier path, with the bytes of both paths.
        Assert.Contains(screen, l => l.StartsWith("app::parse via Vec::reserve (+1 other", StringComparison.Ordinal) && l.Contains("320 B"));
        Assert.DoesNotContain(screen, l => l.StartsWith("app::parse via String::clone", StringComparison.Ordinal));

        state.Handle(PageKey.Enter);
        var details = state.Render(100, 20).Lines;
        Assert.Contains(details, l => l.TrimEnd() == "app::parse via Vec::reserve (+1 other path)");
        // Every stack of the site, the heavier (line 12, 200 B, through Vec::reserve) first.
        Assert.Contains(details, l => l.StartsWith("Stack 1 of 3: 200 B allocated, 100 B retained", StringComparison.Ordinal));
        Assert.Contains(details, l => l.StartsWith("  1 <alloc::vec::Vec<u8>>::reserve ·lib  ", StringComparison.Ordinal));
        Assert.Contains(details, l => l.StartsWith("  2 app::parse  src/parse.rs:12", StringComparison.Ordinal));
        Assert.Contains(details, l => l.StartsWith("  0 malloc ·alloc", StringComparison.Ordinal));
    }

    [Fact]
    public void Innermost_sites_are_the_standard_library_frames()
    {
        var state = new ViewerState(Model(), new MetricsOptions(SiteMode: SiteMode.Innermost));
        state.Sites.SortBy(SiteOrder.Allocated);
        Assert.Equal(["<alloc::vec::Vec<u8>>::reserve", "<alloc::string::String as core::clone::Clone>::clone"],
            state.Sites.Rows.Select(r => r.Label));
        state.Handle(PageKey.Enter);
        Assert.Contains(state.Render(100, 20).Lines, l => l.StartsWith("Stack 1 of 2: ", StringComparison.Ordinal));
    }
}
