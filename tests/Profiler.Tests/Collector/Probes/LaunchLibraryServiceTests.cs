using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Probes;

namespace Profiler.Tests.Collector.Probes;

/// <summary>Which files keep probed allocator calls beside the launch library, on the real files
/// the planner reads: the launch picks the kernel buffer's size by it, and a process's probes are
/// placed by the same rule (SessionCoreTests).</summary>
public sealed class LaunchLibraryServiceTests
{
    const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    /// <summary>Debian's libjemalloc2, installed by scripts/install-deps.sh.</summary>
    const string LibJemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

    [Fact]
    public void Glibc_is_served_whole_and_not_probed_beside_the_library()
    {
        var plan = ProbePlanner.PlanFile(Libc);
        Assert.True(plan.ServedByLaunchLibrary(Libc));
        var served = plan.SitesServedByLaunchLibrary(Libc);
        Assert.Contains(served, s => s.Symbol == "malloc");
        Assert.Contains(served, s => s.Symbol == "free");
        Assert.All(served, s => Assert.True(s.Glibc));
        Assert.Equal(plan.Sites.Count, served.Count);
        Assert.False(plan.ProbedBesideLaunchLibrary(Libc));
    }

    [Fact]
    public void A_sampled_through_jemalloc_library_is_served_but_its_prefixed_api_stays_probed()
    {
        var plan = ProbePlanner.PlanFile(LibJemalloc);
        Assert.True(plan.ServedByLaunchLibrary(LibJemalloc));
        var served = plan.SitesServedByLaunchLibrary(LibJemalloc).Select(s => s.Symbol).ToHashSet();
        Assert.Superset(new HashSet<string> { "malloc", "free", "calloc", "realloc" }, served);
        // Debian's build exports its whole API unprefixed (mallocx, sdallocx too): all of it is served.
        Assert.Contains("mallocx", served);
        Assert.Equal(plan.Sites.Count, served.Count);
        Assert.False(plan.ProbedBesideLaunchLibrary(LibJemalloc));

        // The same library with a prefixed entry point beside its API (as a static jemalloc has):
        // that one is nobody's to interpose, so the file is probed beside the library.
        var prefixed = plan with { Sites = [.. plan.Sites, new ProbeSite(LibJemalloc, "je_mallocx", BpfFunction.Mallocx, 0x7200, new ProbePoint(0, 0, true, "test"), NeedsReturn: true)] };
        Assert.DoesNotContain(prefixed.SitesServedByLaunchLibrary(LibJemalloc), s => s.Symbol == "je_mallocx");
        Assert.True(prefixed.ProbedBesideLaunchLibrary(LibJemalloc));
    }

    [Fact]
    public void An_executable_with_its_own_allocator_is_probed_beside_the_library()
    {
        // The Rust sample links jemalloc statically, prefixed (_rjem_malloc): nothing the library interposes.
        string executable = Path.Combine(RepoRoot.Path, "samples", "bin", "allocs-jemalloc");
        var plan = ProbePlanner.PlanFile(executable);
        Assert.NotEmpty(plan.Sites);
        Assert.False(plan.ServedByLaunchLibrary(executable));
        Assert.Empty(plan.SitesServedByLaunchLibrary(executable));
        Assert.True(plan.ProbedBesideLaunchLibrary(executable));
    }

    [Fact]
    public void The_library_itself_and_a_program_without_an_allocator_are_not_probed_beside_it()
    {
        string library = Path.Combine(AppContext.BaseDirectory, "libmemprof_preload.so");
        var preload = ProbePlanner.PlanFile(library);
        Assert.NotNull(preload.Preload);
        Assert.NotEmpty(preload.Sites);
        Assert.False(preload.ProbedBesideLaunchLibrary(library));

        var plain = ProbePlanner.PlanFile("/usr/bin/true");
        Assert.Empty(plain.Sites);
        Assert.False(plain.ProbedBesideLaunchLibrary("/usr/bin/true"));
    }
}
