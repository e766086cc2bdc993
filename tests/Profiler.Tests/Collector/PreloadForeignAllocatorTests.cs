using Profiler.Collectors.Linux.Preload;

namespace Profiler.Tests.Collector;

/// <summary>
/// The launch library (libmemprof_preload.so, LD_PRELOAD) over another allocator, driven by a C
/// harness (Collector/Preload/foreign_harness.c) linked as a program links libjemalloc.so.2:
/// against Debian's libjemalloc.so.2, or against Collector/Preload/bump_alloc.c, an allocator that
/// knows its own blocks for certain. The harness knows what it did: the library's counters must
/// match it exactly, every call must reach the allocator, the markers (rerouted to the harness's
/// counters) must be called for what was sampled, and no block may reach an allocator that did not
/// make it.
/// </summary>
public sealed class PreloadForeignAllocatorTests : IClassFixture<PreloadForeignAllocatorTests.Harness>
{
    const string Jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
    readonly Harness harness;

    public PreloadForeignAllocatorTests(Harness harness) => this.harness = harness;

    [Fact]
    public void Blocks_glibc_made_while_the_library_set_itself_up_go_back_to_glibc_not_to_the_programs_allocator()
    {
        // Without tcache glibc's statistics see a freed block as free at once.
        harness.Run(harness.OverBump, "1", new() { ["GLIBC_TUNABLES"] = "glibc.malloc.tcache_count=0" }, "setup");
    }

    [Theory]
    [InlineData("1")]
    [InlineData("4096")]
    public void Every_call_through_another_allocator_is_counted_exactly_and_reaches_it(string rate)
    {
        harness.Run(harness.OverBump, rate, [], "count", "3000");
    }

    [Theory]
    [InlineData("1")]
    [InlineData("4096")]
    public void Every_call_through_debians_libjemalloc_and_its_own_api_is_counted_exactly_with_its_usable_sizes(string rate)
    {
        harness.Run(harness.OverJemalloc, rate, [], "count", "3000");
    }

    /// <summary>Compiles the allocator and the harness (over each allocator) once for the class.</summary>
    public sealed class Harness : IDisposable
    {
        public string Folder { get; } = Directory.CreateTempSubdirectory("memprof-preload-foreign").FullName;
        public string Library { get; } = Path.Combine(AppContext.BaseDirectory, PreloadLibrary.FileName);
        public string OverBump { get; }
        public string OverJemalloc { get; }

        public Harness()
        {
            Assert.True(File.Exists(Library), $"{Library} was not built");
            Assert.True(File.Exists(Jemalloc), $"{Jemalloc} is missing (scripts/install-deps.sh installs libjemalloc2)");
            string sources = Path.Combine(RepoRoot.Path, "tests", "Profiler.Tests", "Collector", "Preload");
            string[] flags = ["-O2", "-g", "-Wall", "-Wextra", "-Werror"];
            string bump = Path.Combine(Folder, "libbump.so");
            Tool("cc", [.. flags, "-fPIC", "-shared", "-o", bump, Path.Combine(sources, "bump_alloc.c")]);
            string[] harness = [.. flags, "-I", Path.Combine(RepoRoot.Path, "collectors", "preload"),
                "-I", Path.Combine(RepoRoot.Path, "collectors", "bpf"), Path.Combine(sources, "foreign_harness.c")];
            OverBump = Path.Combine(Folder, "harness_bump");
            Tool("cc", [.. harness, "-o", OverBump, bump, "-Wl,-rpath," + Folder]);
            OverJemalloc = Path.Combine(Folder, "harness_jemalloc");
            Tool("cc", [.. harness, "-o", OverJemalloc, Jemalloc]);
        }

        /// <summary>Runs a scenario under the library at the rate; every check it prints must pass.</summary>
        public void Run(string executable, string rate, Dictionary<string, string> environment, params string[] args)
        {
            var options = new ProcessOptions { Timeout = TimeSpan.FromMinutes(2) }
                .WithEnvironment("LD_PRELOAD", Library).WithEnvironment(PreloadLibrary.RateVariable, rate);
            foreach (var (name, value) in environment) options = options.WithEnvironment(name, value);
            var result = ProcessRunner.Run(executable, args, options);
            var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
            var failed = lines.Where(l => l.Contains(" FAIL ", StringComparison.Ordinal)).ToList();
            Assert.True(result.ExitCode == 0 && failed.Count == 0, result.Describe($"{string.Join(' ', args)} at rate {rate}: {failed.Count} checks failed"));
            Assert.Contains(lines, l => l.StartsWith("check ", StringComparison.Ordinal));
        }

        public void Dispose() => Directory.Delete(Folder, recursive: true);
    }

    static string Tool(string file, params string[] args) => ProcessRunner.RunChecked(file, args).Stdout;
}
