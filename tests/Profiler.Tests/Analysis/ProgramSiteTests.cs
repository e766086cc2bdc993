using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Tests.Analysis;

/// <summary>A site is the innermost frame of the program's own code, with the standard-library
/// path its allocation went through; all-library stacks and --sites innermost fall back.</summary>
public sealed class ProgramSiteTests
{
    const string Rustc = "/rustc/59807616e1fa2b0b1bd9a8fa3fb55e0c59a5bf46/library";
    const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";

    /// <summary>Rust std frames with the files rustc's builders leave in debug info, libc's in its module.</summary>
    static TestModel WithLibraries(ulong samplingRate = 1) => new TestModel(samplingRate)
        .Library("<alloc::vec::Vec<u8>>::with_capacity", $"{Rustc}/alloc/src/vec/mod.rs")
        .Library("<alloc::vec::Vec<u8>>::with_capacity_in", $"{Rustc}/alloc/src/vec/mod.rs")
        .Library("alloc::raw_vec::RawVecInner::try_allocate_in", $"{Rustc}/alloc/src/raw_vec/mod.rs")
        .Library("<alloc::string::String as core::clone::Clone>::clone", $"{Rustc}/alloc/src/string.rs")
        .Library("core::iter::traits::iterator::Iterator::fold", $"{Rustc}/core/src/iter/traits/iterator.rs")
        .Library("std::sys::pal::unix::thread::Thread::new::thread_start", $"{Rustc}/std/src/sys/pal/unix/thread.rs")
        .Library("__libc_start_call_main", null, Libc)
        .Library("start_thread", null, Libc)
        .Library("opendir", null, Libc)
        .Library("__alloc_dir", "./dirent/../sysdeps/unix/sysv/linux/opendir.c", Libc)
        .Library("malloc", null, Libc);

    static IReadOnlyList<FunctionMetrics> Sites(ProfileModel model, SiteMode mode = SiteMode.Program) =>
        HeapMetrics.Compute(model, HeapAnalysis.Compute(model), new MetricsOptions(SiteMode: mode)).Sites(model.Tables);

    [Fact]
    public void The_site_is_the_programs_caller_of_the_standard_library_shown_with_the_path()
    {
        var m = WithLibraries();
        var index = m.Stack("__libc_start_call_main", "main", "app::load_index:12", "<alloc::vec::Vec<u8>>::with_capacity",
            "<alloc::vec::Vec<u8>>::with_capacity_in@1", "alloc::raw_vec::RawVecInner::try_allocate_in", "malloc");
        var scan = m.Stack("__libc_start_call_main", "main", "app::scan:30", "opendir", "__alloc_dir", "malloc");
        var model = m.Alloc(0, 0x10, 4096, index).Alloc(1, 0x20, 32816, scan).Build();

        var sites = Sites(model).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
        Assert.Equal(["app::load_index via Vec::with_capacity → Vec::with_capacity_in", "app::scan via opendir → __alloc_dir"],
            sites.Select(s => s.Label));
        Assert.Equal([12], sites[0].Lines);
        Assert.Equal([30], sites[1].Lines);

        var site = SiteAnalysis.SiteOfStack(model.Tables, scan)!;
        Assert.Equal("app::scan", model.Tables.FunctionName(site.Frame));
        Assert.Equal(["opendir", "__alloc_dir"], site.Via.Select(model.Tables.FunctionName));
        Assert.Equal("app::scan", model.Tables.Function(SiteAnalysis.SiteOf(model.Tables, scan)!.Value).Name);
    }

    [Fact]
    public void One_function_allocating_through_different_calls_is_one_site_named_by_its_largest_path()
    {
        var m = WithLibraries();
        var viaVec = m.Stack("main", "app::parse", "<alloc::vec::Vec<u8>>::with_capacity", "malloc");
        var viaClone = m.Stack("main", "app::parse", "<alloc::string::String as core::clone::Clone>::clone", "malloc");
        var direct = m.Stack("main", "app::parse", "malloc");
        var model = m.Alloc(0, 0x10, 100, viaVec).Alloc(1, 0x20, 20, viaClone).Alloc(2, 0x30, 3, direct).Alloc(3, 0x40, 100, viaVec).Build();

        var site = Assert.Single(Sites(model));
        Assert.Equal(223, site.Metrics.AllocatedBytes);
        Assert.Equal("app::parse via Vec::with_capacity (+2 other paths)", site.Label);
    }

    [Fact]
    public void A_library_frame_between_program_frames_is_not_the_site()
    {
        // Iterator::fold calls the program's closure, which allocates through String::clone.
        var m = WithLibraries();
        var stack = m.Stack("main", "core::iter::traits::iterator::Iterator::fold", "app::visit::{{closure}}",
            "<alloc::string::String as core::clone::Clone>::clone", "malloc");
        var model = m.Alloc(0, 0x10, 10, stack).Build();
        Assert.Equal("app::visit::{{closure}} via String::clone", Assert.Single(Sites(model)).Label);
    }

    [Fact]
    public void A_stack_of_library_code_only_falls_back_to_its_innermost_frame_outside_the_allocator()
    {
        var m = WithLibraries();
        var threadStart = m.Stack("start_thread", "std::sys::pal::unix::thread::Thread::new::thread_start", "malloc");
        var allocatorOnly = m.Stack("malloc");
        var model = m.Alloc(0, 0x10, 48, threadStart).Alloc(1, 0x20, 8, allocatorOnly).Build();

        var sites = Sites(model).Select(s => (s.Label, s.Via)).OrderBy(s => s.Label, StringComparer.Ordinal).ToList();
        Assert.Equal([("malloc", null), ("std::sys::pal::unix::thread::Thread::new::thread_start", null)], sites);
        Assert.Null(SiteAnalysis.SiteOf(model.Tables, allocatorOnly));
    }

    [Fact]
    public void Innermost_keeps_the_innermost_frame_outside_the_allocator()
    {
        var m = WithLibraries();
        var scan = m.Stack("main", "app::scan", "opendir", "__alloc_dir", "malloc");
        var index = m.Stack("main", "app::load_index", "<alloc::vec::Vec<u8>>::with_capacity", "alloc::raw_vec::RawVecInner::try_allocate_in", "malloc");
        var model = m.Alloc(0, 0x10, 10, scan).Alloc(1, 0x20, 20, index).Build();

        var sites = Sites(model, SiteMode.Innermost).Select(s => (s.Label, s.Module)).OrderBy(s => s.Label, StringComparer.Ordinal).ToList();
        Assert.Equal([("<alloc::vec::Vec<u8>>::with_capacity", "app"), ("__alloc_dir", "libc.so.6")], sites);
    }

    [Fact]
    public void A_truncated_stack_is_cut_at_its_root_and_the_marker_is_never_the_programs_site()
    {
        var tables = new CallTreeTables();
        var module = tables.InternModule("/opt/app/bin/app", "");
        StackId Push(StackId parent, string name, ulong address) =>
            tables.InternStack(parent, tables.InternFrame(tables.InternFunction(name, module, "src/app.rs", null), module, address, null, 0));
        var cut = tables.InternStack(StackId.None, tables.TruncatedFrame());
        var programBelowCut = Push(Push(cut, "app::work", 0x10), "malloc", 0x20);
        var nothingButAllocator = Push(cut, "malloc", 0x20);
        var whole = Push(Push(StackId.None, "app::work", 0x10), "malloc", 0x20);

        Assert.True(tables.IsTruncated(programBelowCut));
        Assert.False(tables.IsTruncated(whole));
        Assert.Equal(tables.TruncatedFrame(), tables.TruncatedFrame());
        Assert.Equal("app::work", tables.Function(SiteAnalysis.SiteOf(tables, programBelowCut)!.Value).Name);
        Assert.Equal(CallTreeTables.TruncatedFunction, tables.Function(SiteAnalysis.SiteOf(tables, nothingButAllocator)!.Value).Name);
        Assert.Equal(FrameKind.Library, SiteAnalysis.KindOf(tables, tables.TruncatedFrame()));
    }

    [Fact]
    public void Rusts_generated_main_is_not_the_programs_code_but_a_c_main_is()
    {
        // rustc's C main calls std::rt::lang_start; std allocates at start-up (the main thread's name).
        var m = WithLibraries()
            .Library("std::rt::lang_start_internal", $"{Rustc}/std/src/rt.rs")
            .Library("<alloc::boxed::Box<str> as core::convert::From<&str>>::from", $"{Rustc}/alloc/src/boxed.rs")
            .Library("main", null)
            .Library("strdup", null, Libc);
        var runtime = m.Stack("__libc_start_call_main", "main", "std::rt::lang_start_internal",
            "<alloc::boxed::Box<str> as core::convert::From<&str>>::from", "malloc");
        var cMain = m.Stack("__libc_start_call_main", "main", "strdup", "malloc");
        var model = m.Alloc(0, 0x10, 5, runtime).Alloc(1, 0x20, 7, cMain).Build();

        var sites = Sites(model).Select(s => s.Label).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["<alloc::boxed::Box<str> as core::convert::From<&str>>::from", "main via strdup"], sites);
    }
}
