using Profiler.Core.Model;
using Profiler.Core.Sampling;
using Profiler.Export.Pprof;

namespace Profiler.Tests.Pprof;

/// <summary>Hand-made models exported to pprof and read back by `go tool pprof`, whose totals,
/// per-function values, stacks and mappings must be the models' ground truth.</summary>
public sealed class GoPprofAgreementTests
{
    static readonly string[] SampleTypes = ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"];

    /// <summary>The model written to a temporary .pb.gz, deleted on dispose.</summary>
    sealed class ProfileFile : IDisposable
    {
        public ProfileFile(ProfileModel model)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"memprof-pprof-{Guid.NewGuid():N}.pb.gz");
            PprofExporter.Write(model, Path);
        }

        public string Path { get; }

        public void Dispose() => File.Delete(Path);
    }

    static void AssertTopMatches(HeapScenario scenario, string file)
    {
        foreach (var type in SampleTypes)
        {
            var expected = scenario.Expected(type);
            var top = GoPprof.Top(file, type);
            Assert.True(expected.Values.Sum() == top.Total, $"{type}: total {top.Total}, expected {expected.Values.Sum()}\n{top.Text}");
            Assert.True(expected.OrderBy(e => e.Key).SequenceEqual(top.Flat.OrderBy(e => e.Key)),
                $"{type}: flat {string.Join(", ", top.Flat.OrderBy(e => e.Key))}, expected {string.Join(", ", expected.OrderBy(e => e.Key))}\n{top.Text}");
        }
    }

    [Fact]
    public void Totals_and_flat_values_match_the_model_for_every_sample_type()
    {
        var scenario = HeapScenario.KnownTotals();
        using var file = new ProfileFile(scenario.Build());
        AssertTopMatches(scenario, file.Path);
        // inuse_space is what pprof shows when no sample index is given.
        var byDefault = GoPprof.Top(file.Path, sampleIndex: "inuse_space");
        Assert.Contains("Type: inuse_space", GoPprof.Run(file.Path, "-top"));
        Assert.Equal(scenario.Expected("inuse_space").Values.Sum(), byDefault.Total);
    }

    [Fact]
    public void Sampled_weights_become_estimated_bytes_and_objects()
    {
        const ulong rate = PoissonSampling.DefaultRateBytes;
        var s = new HeapScenario();
        s.Builder.Process(100, "app");
        var small = s.Builder.Stack(s.Main, s.In("many_small", 0x1200));
        var large = s.Builder.Stack(s.Main, s.In("one_large", 0x1300));
        // What a sampled 100-byte allocation stands for: 100 / (1 - e^(-100/rate)) bytes, ~5243 objects.
        ulong smallWeight = (ulong)Math.Round(100 / -double.ExpM1(-100.0 / rate));
        ulong largeWeight = (ulong)Math.Round(3_000_000 / -double.ExpM1(-3_000_000.0 / rate));
        s.Alloc("many_small", small, 100, weight: smallWeight);
        s.Alloc("many_small", small, 100, weight: smallWeight, freed: true);
        s.Alloc("many_small", small, 100, weight: smallWeight);
        s.Alloc("one_large", large, 3_000_000, weight: largeWeight);
        var model = s.Build(rate);
        using var file = new ProfileFile(model);

        AssertTopMatches(s, file.Path);
        Assert.Equal(10487, s.Expected("inuse_objects")["many_small"]);
        var raw = GoPprof.Run(file.Path, "-raw");
        Assert.Contains("PeriodType: space bytes", raw);
        Assert.Contains($"Period: {rate}\n", raw);
    }

    [Fact]
    public void Inlined_frames_share_one_location_leaf_first()
    {
        var s = new HeapScenario();
        s.Builder.Process(100, "app");
        // A call from an inlined helper, an allocation site inlined two levels deep, and Rust's
        // allocation plumbing inlined into the caller, which pprof trims off that location.
        var viaHelper = s.Builder.Stack(s.Main, new("outer", s.App, 0x1234, 20), new("helper", s.App, 0x1234, 30, 1), s.Malloc);
        var deep = s.Builder.Stack(s.Main, new("outer2", s.App, 0x1500, 40), new("inner2", s.App, 0x1500, 41, 1),
            new("innermost", s.App, 0x1500, 42, 2));
        var rust = s.Builder.Stack(s.Main, new("<app::Table as app::Store>::push_item", s.App, 0x1600, 50),
            new("alloc::raw_vec::RawVec<T,A>::grow_one", s.App, 0x1600, 51, 1), new("__rust_alloc", s.App, 0x1700), s.Malloc);
        s.Alloc("helper (inline)", viaHelper, 128);
        s.Alloc("innermost (inline)", deep, 64);
        s.Alloc("<app::Table as app::Store>::push_item", rust, 32);
        using var file = new ProfileFile(s.Build());

        AssertTopMatches(s, file.Path);
        var raw = GoPprof.Raw(file.Path);
        var app = Assert.Single(raw.Mappings, m => m.File == HeapScenario.AppPath);
        Assert.Contains("[IN]", app.Flags);
        // A caller's location holds its return address minus one, inside the call instruction.
        var call = Assert.Single(raw.Locations, l => l.Address == 0x1233);
        Assert.Equal(app.Id, call.Mapping);
        Assert.Equal([new("helper", "", 30), new("outer", "", 20)], call.Lines);
        var leaf = Assert.Single(raw.Locations, l => l.Address == 0x1500);
        Assert.Equal(["innermost", "inner2", "outer2"], leaf.Lines.Select(l => l.Function));
        Assert.Equal([42L, 41, 40], leaf.Lines.Select(l => l.Line));
        Assert.Equal(new GoPprof.RawLine("main", "src/main.c", 10), Assert.Single(raw.Locations, l => l.Address == 0x10ff).Lines.Single());

        var traces = GoPprof.Traces(file.Path, "-sample_index=alloc_space");
        Assert.Contains(traces, t => t.Frames.SequenceEqual(["helper (inline)", "outer", "main"]));
        Assert.Contains(traces, t => t.Frames.SequenceEqual(["innermost (inline)", "inner2 (inline)", "outer2", "main"]));
        Assert.Contains(traces, t => t.Frames.SequenceEqual(["<app::Table as app::Store>::push_item", "main"]));
    }

    [Fact]
    public void Each_process_and_thread_gets_its_own_labelled_sample()
    {
        var s = new HeapScenario();
        s.Builder.Process(100, "server", (100, "server"), (101, "worker")).Process(200, "child");
        var stack = s.Builder.Stack(s.Main, s.In("handle_request", 0x1200));
        s.Alloc("handle_request", stack, 300, pid: 100);
        s.Alloc("handle_request", stack, 700, pid: 100, tid: 101);
        s.Alloc("handle_request", stack, 20, pid: 200, freed: true);
        s.Alloc("handle_request", stack, 30, pid: 200);
        using var file = new ProfileFile(s.Build());

        AssertTopMatches(s, file.Path);
        Assert.Equal(1000, GoPprof.Top(file.Path, "alloc_space", "-tagfocus=pid=100").Shown);
        Assert.Equal(50, GoPprof.Top(file.Path, "alloc_space", "-tagfocus=pid=200").Shown);
        Assert.Equal(30, GoPprof.Top(file.Path, "inuse_space", "-tagfocus=comm=child").Shown);
        Assert.Equal(700, GoPprof.Top(file.Path, "alloc_space", "-tagfocus=thread_comm=worker").Shown);

        var traces = GoPprof.Traces(file.Path, "-sample_index=alloc_space");
        Assert.Equal(3, traces.Count);
        Assert.Equal(["100", "100", "200"], traces.Select(t => t.Labels["pid"]).Order());
        Assert.All(traces, t => Assert.Equal(["handle_request", "main"], t.Frames));
    }

    [Fact]
    public void Mappings_carry_file_names_and_build_ids_with_the_main_binary_first()
    {
        var scenario = HeapScenario.KnownTotals();
        using var file = new ProfileFile(scenario.Build());
        var raw = GoPprof.Raw(file.Path);
        Assert.Equal(2, raw.Mappings.Count);
        Assert.Equal((HeapScenario.AppPath, HeapScenario.AppBuildId), (raw.Mappings[0].File, raw.Mappings[0].BuildId));
        Assert.Equal((HeapScenario.LibcPath, HeapScenario.LibcBuildId), (raw.Mappings[1].File, raw.Mappings[1].BuildId));
        Assert.All(raw.Mappings, m => Assert.StartsWith("[FN]", m.Flags));
        // Every location lies in its mapping's address range.
        foreach (var location in raw.Locations)
        {
            var mapping = Assert.Single(raw.Mappings, m => m.Id == location.Mapping);
            Assert.InRange(location.Address, mapping.Start, mapping.Limit - 1);
        }
        var top = GoPprof.Run(file.Path, "-top");
        Assert.Contains("File: app\n", top);
        Assert.Contains($"Build ID: {HeapScenario.AppBuildId}\n", top);
    }

    [Fact]
    public void Frames_without_a_module_and_events_without_a_stack_keep_their_bytes()
    {
        var s = new HeapScenario();
        s.Builder.Process(100, "app");
        var jit = s.Builder.Stack(s.Main, new("0x7f0000001234", null, 0x7f00_0000_1234));
        s.Alloc("0x7f0000001234", jit, 10);
        s.Alloc(PprofExporter.NoStackFunction, StackId.None, 5);
        s.Alloc("main", s.Builder.Stack(s.Main), 1);
        using var file = new ProfileFile(s.Build());

        AssertTopMatches(s, file.Path);
        var unmapped = Assert.Single(GoPprof.Raw(file.Path).Locations, l => l.Address == 0x7f00_0000_1234);
        Assert.Null(unmapped.Mapping);
        Assert.Equal("0x7f0000001234", unmapped.Lines.Single().Function);
    }

    /// <summary>
    /// Standard-library frames between the program's code and the allocator are dropped like the
    /// allocator's, so -top shows the program's functions: Vec::with_capacity and libc's opendir are
    /// passed through to their callers. Iterator::fold also calls the program's closure in another
    /// stack, so it cannot be dropped (pprof would cut that stack at main): allocations made through
    /// it stay at fold. A std thread's own allocation, all library code, stays at its innermost frame.
    /// </summary>
    [Fact]
    public void Top_shows_the_programs_functions_through_standard_library_frames()
    {
        const string rustc = "/rustc/59807616e1fa2b0b1bd9a8fa3fb55e0c59a5bf46/library";
        var s = new HeapScenario();
        var b = s.Builder;
        b.Process(100, "app");
        var startMain = new TestFrame("__libc_start_call_main", s.Libc, 0x29d10);
        var main = new TestFrame("main", s.App, 0x1100, File: "src/main.rs");
        TestFrame App(string name, ulong address) => new(name, s.App, address, File: "src/lib.rs");
        TestFrame Std(string name, ulong address, string file) => new(name, s.App, address, File: $"{rustc}/{file}");
        TestFrame Libc(string name, ulong address) => new(name, s.Libc, address);
        var fold = Std("core::iter::traits::iterator::Iterator::fold", 0x3000, "core/src/iter/traits/iterator.rs");
        var rawVec = Std("alloc::raw_vec::RawVecInner::try_allocate_in", 0x3100, "alloc/src/raw_vec/mod.rs");

        s.Alloc("app::load_index", b.Stack(startMain, main, App("app::load_index", 0x1200),
            Std("<alloc::vec::Vec<u8>>::with_capacity", 0x3200, "alloc/src/vec/mod.rs"), rawVec, s.Malloc), 4096);
        s.Alloc("app::scan", b.Stack(startMain, main, App("app::scan", 0x1300), Libc("opendir", 0xd4a0), Libc("__alloc_dir", 0xd3c0), s.Malloc), 32816);
        s.Alloc("app::visit::{{closure}}", b.Stack(startMain, main, fold, App("app::visit::{{closure}}", 0x1400), s.Malloc), 24);
        s.Alloc("core::iter::traits::iterator::Iterator::fold", b.Stack(startMain, main, App("app::collect", 0x1500), fold, s.Malloc), 64);
        s.Alloc("std::sys::pal::unix::thread::Thread::new::thread_start", b.Stack(Libc("clone3", 0xfd9f0), Libc("start_thread", 0x8aff0),
            Std("std::sys::pal::unix::thread::Thread::new::thread_start", 0x3300, "std/src/sys/pal/unix/thread.rs"), s.Malloc), 48);
        using var file = new ProfileFile(s.Build());

        AssertTopMatches(s, file.Path);
    }
}
