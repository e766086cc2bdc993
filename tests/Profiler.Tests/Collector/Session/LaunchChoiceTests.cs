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
    public void Probe_mode_sets_nothing_and_never_runs_the_dynamic_linker()
    {
        var facts = new LaunchFacts(RustJemalloc, Library, () => throw new InvalidOperationException("asked"), _ => null);
        Assert.Equal(new LaunchChoice(null, null), LaunchChoice.Decide(AllocatorMode.Probe, 4096, facts));
    }
}
