using Profiler.Collectors.Linux;
using Profiler.Collectors.Linux.Probes;
using Profiler.Collectors.Linux.Session;

namespace Profiler.Tests.Collector.Session;

public sealed class LaunchChoiceTests
{
    static readonly JemallocProfSymbols RustJemalloc = new("_rjem_", "_rjem_je_", 0x100, 0x200, 0x300, null, null, null);
    const string Library = "/opt/memprof/libmemprof_preload.so";

    static LaunchFacts Facts(JemallocProfSymbols? jemalloc = null, string? library = Library, PreloadUnfit? unsuitable = null,
        Dictionary<string, string>? inherited = null) =>
        new(jemalloc, library, () => unsuitable, name => inherited?.GetValueOrDefault(name));

    [Fact]
    public void Jemalloc_with_profiling_compiled_in_samples_itself_ahead_of_the_users_own_options()
    {
        var choice = LaunchChoice.Decide(AllocatorMode.Auto, 524288, Facts(RustJemalloc, inherited: new() { ["_RJEM_MALLOC_CONF"] = "narenas:2" }));

        Assert.Equal("prof:true,prof_active:true,lg_prof_sample:19,prof_recent_alloc_max:0,narenas:2", choice.Environment!["_RJEM_MALLOC_CONF"]);
        Assert.DoesNotContain("LD_PRELOAD", choice.Environment.Keys);
    }

    [Fact]
    public void Every_allocation_exactly_is_not_left_to_jemallocs_sampling()
    {
        var choice = LaunchChoice.Decide(AllocatorMode.Auto, 1, Facts(RustJemalloc));
        Assert.Equal(Library, choice.Environment!["LD_PRELOAD"]);
        Assert.Equal("1", choice.Environment["MEMPROF_PRELOAD_RATE"]);
    }

    [Fact]
    public void A_dynamically_linked_command_samples_in_process_before_the_users_preloads()
    {
        var choice = LaunchChoice.Decide(AllocatorMode.Auto, 4096, Facts(inherited: new() { ["LD_PRELOAD"] = "/lib/libmine.so" }));
        Assert.Equal(Library + ":/lib/libmine.so", choice.Environment!["LD_PRELOAD"]);
        Assert.Equal("4096", choice.Environment["MEMPROF_PRELOAD_RATE"]);
        Assert.Equal("in-process sampling (preload library, markers probed)", choice.Note);
    }

    [Fact]
    public void An_executable_with_a_malloc_of_its_own_is_probed_and_told_why()
    {
        var choice = LaunchChoice.Decide(AllocatorMode.Auto, 4096, Facts(unsuitable: new("app defines its own malloc", PassOn: false)));
        Assert.Null(choice.Environment);
        Assert.Equal("in-process sampling unavailable (app defines its own malloc): probing every allocator call", choice.Note);
        Assert.Contains("libmemprof_preload.so is missing", LaunchChoice.Decide(AllocatorMode.Preload, 4096, Facts(library: null)).Note);
    }

    [Fact]
    public void A_static_wrapper_is_probed_but_passes_the_library_on_to_the_programs_it_runs()
    {
        var choice = LaunchChoice.Decide(AllocatorMode.Preload, 4096, Facts(unsuitable: new("wrap is statically linked", PassOn: true)));
        Assert.Equal(Library, choice.Environment!["LD_PRELOAD"]);
        Assert.Equal("4096", choice.Environment["MEMPROF_PRELOAD_RATE"]);
        Assert.Equal("in-process sampling unavailable (wrap is statically linked): probing its allocator calls; " +
                     "the programs it runs inherit the library (in-process sampling (preload library, markers probed))", choice.Note);
    }

    [Fact]
    public void A_stripped_libjemalloc_with_profiling_is_named_for_what_it_is()
    {
        var facts = Facts(unsuitable: new("libjemalloc.so.2 brings its own malloc", PassOn: true)) with { UnprobeableJemalloc = () => "libjemalloc.so.2" };
        var choice = LaunchChoice.Decide(AllocatorMode.Auto, 524288, facts);
        Assert.True(choice.JemallocExplained);
        Assert.StartsWith("libjemalloc.so.2 has jemalloc's profiling compiled in, but its sampled path (prof_malloc_sample_object) " +
                          "has no symbol to probe (the library is stripped); in-process sampling unavailable (libjemalloc.so.2 brings its own malloc)", choice.Note);
        // Every allocation exactly never wanted jemalloc's sampling: nothing to explain.
        Assert.False(LaunchChoice.Decide(AllocatorMode.Auto, 1, facts).JemallocExplained);
        var probe = LaunchChoice.Decide(AllocatorMode.JemallocProf, 524288, facts);
        Assert.EndsWith("(the library is stripped): probing every call", probe.Note);
    }

    [Fact]
    public void A_stripped_libjemalloc_with_profiling_is_sampled_in_process_through_its_own_allocator_and_said_so_once()
    {
        var facts = Facts() with { UnprobeableJemalloc = () => "libjemalloc.so.2", SampledThrough = () => "libjemalloc.so.2" };
        var choice = LaunchChoice.Decide(AllocatorMode.Auto, 524288, facts);
        Assert.Equal(Library, choice.Environment!["LD_PRELOAD"]);
        Assert.Equal("524288", choice.Environment["MEMPROF_PRELOAD_RATE"]);
        Assert.True(choice.JemallocExplained);
        Assert.Equal("libjemalloc.so.2", choice.SampledThrough);
        Assert.Equal("libjemalloc.so.2 has jemalloc's profiling compiled in, but its sampled path (prof_malloc_sample_object) " +
                     "has no symbol to probe (the library is stripped), so it cannot sample: in-process sampling through " +
                     "libjemalloc.so.2's allocator (preload library, markers probed)", choice.Note);
        Assert.DoesNotContain("probing", choice.Note);
        // Every allocation exactly never wanted jemalloc's sampling: only the path is said.
        var exact = LaunchChoice.Decide(AllocatorMode.Auto, 1, facts);
        Assert.Equal("in-process sampling through libjemalloc.so.2's allocator (preload library, markers probed)", exact.Note);
        Assert.Equal("1", exact.Environment!["MEMPROF_PRELOAD_RATE"]);
        var rings = LaunchChoice.Decide(AllocatorMode.Preload, 4096, facts, ("/dev/shm/rings", "shared rings (2 × 64 KiB)"));
        Assert.StartsWith("in-process sampling through libjemalloc.so.2's allocator (preload library, events through shared rings", rings.Note);
    }

    [Fact]
    public void Another_allocator_without_jemallocs_profiling_is_sampled_through_and_named()
    {
        var choice = LaunchChoice.Decide(AllocatorMode.Auto, 4096, Facts() with { SampledThrough = () => "libtcmalloc.so.4" });
        Assert.Equal(Library, choice.Environment!["LD_PRELOAD"]);
        Assert.False(choice.JemallocExplained);
        Assert.Equal("in-process sampling through libtcmalloc.so.4's allocator (preload library, markers probed)", choice.Note);
    }

    [Fact]
    public void Debians_redis_server_is_sampled_through_libjemalloc_and_glibc_programs_through_glibc()
    {
        Profiler.Tests.Elf.SystemTools.Require([], "/usr/bin/redis-server");
        Assert.Null(Profiler.Collectors.Linux.Preload.PreloadLibrary.Unsuitable("/usr/bin/redis-server", null));
        Assert.Equal("libjemalloc.so.2", Path.GetFileName(Profiler.Collectors.Linux.Preload.PreloadLibrary.SampledThrough("/usr/bin/redis-server", null)));
        Assert.Null(Profiler.Collectors.Linux.Preload.PreloadLibrary.SampledThrough("/usr/bin/ls", null));
        // A user's preload comes first in lookup order.
        Assert.Equal("libjemalloc.so.2", Path.GetFileName(Profiler.Collectors.Linux.Preload.PreloadLibrary.SampledThrough(
            "/usr/bin/ls", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")));
        Assert.True(Profiler.Collectors.Linux.Probes.ProbePlanner.PlanFile("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2").SampledByPreload);
        Assert.False(Profiler.Collectors.Linux.Probes.ProbePlanner.PlanFile("/usr/lib/x86_64-linux-gnu/libc.so.6").SampledByPreload);
    }

    [Fact]
    public void Profiling_compiled_into_a_jemalloc_is_recognised_without_its_symbols()
    {
        // Debian's libjemalloc2 (installed by scripts/install-deps.sh) is built with --enable-prof and stripped.
        Assert.True(Profiler.Collectors.Linux.Jemalloc.JemallocProfiling.ProfilingCompiledIn("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"));
        Assert.False(Profiler.Collectors.Linux.Jemalloc.JemallocProfiling.ProfilingCompiledIn("/usr/lib/x86_64-linux-gnu/libc.so.6"));
    }

    [Fact]
    public void Probe_mode_sets_nothing_and_never_runs_the_dynamic_linker()
    {
        var facts = new LaunchFacts(RustJemalloc, Library, () => throw new InvalidOperationException("asked"), _ => null);
        Assert.Equal(new LaunchChoice(null, null), LaunchChoice.Decide(AllocatorMode.Probe, 4096, facts));
    }
}
