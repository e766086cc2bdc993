using Profiler.Collectors.Linux.Preload;

namespace Profiler.Tests.Collector;

/// <summary>
/// The injectable sampler (libmemprof_inject.so) driven as memprof drives it when attaching, by a
/// C harness (Collector/Inject/inject_harness.c): dlopen'ed after the program's threads have
/// started, forwarding tables filled, an attach request written into its state, and its entry
/// points called from many threads as redirected GOT slots would be. The harness knows what it
/// did: counters must match it exactly, and the markers memprof's uprobes sit on (rerouted to the
/// harness's counters) must be called for what was sampled.
/// </summary>
public sealed class InjectedSamplerTests : IClassFixture<InjectedSamplerTests.Harness>
{
    readonly Harness harness;

    public InjectedSamplerTests(Harness harness) => this.harness = harness;

    [Fact]
    public void The_library_needs_no_static_TLS_stays_loaded_and_interposes_nothing()
    {
        string dynamic = Tool("readelf", "-dW", harness.Library);
        var flags = dynamic.Split('\n').Where(l => l.Contains("(FLAGS", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(flags, l => l.Contains("STATIC_TLS", StringComparison.Ordinal));
        Assert.Contains(flags, l => l.Contains("NODELETE", StringComparison.Ordinal));
        Assert.DoesNotContain("TPOFF", Tool("readelf", "-rW", harness.Library));
        Assert.DoesNotContain(" TLS ", Tool("readelf", "-lW", harness.Library));
        var exported = Tool("readelf", "--dyn-syms", "-W", harness.Library).Split('\n')
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 8 && f[6] != "UND" && f[4] == "GLOBAL").Select(f => f[7]).ToHashSet();
        foreach (var function in InjectLibrary.Functions)
        {
            Assert.DoesNotContain(function, exported);
            for (int table = 0; table < PreloadState.Tables; table++)
                Assert.Contains(InjectLibrary.EntryPoint(table, function), exported);
        }
        Assert.Contains(PreloadLibrary.StateSymbol, exported);
        Assert.Contains(InjectLibrary.ApplySymbol, exported);
        Assert.Contains(PreloadLibrary.AllocMarker, exported);
    }

    [Fact]
    public void Every_call_from_16_threads_is_counted_and_marked_at_rate_1_and_memprof_decodes_the_same()
    {
        string stateFile = Path.Combine(harness.Folder, "state-rate1.bin");
        var output = harness.Run("run", "1", "16", "20000", stateFile);

        var expect = output.Single(l => l.StartsWith("expect ", StringComparison.Ordinal)).Split(' ').Skip(1)
            .Select(p => p.Split('=')).ToDictionary(p => p[0], p => long.Parse(p[1]));
        var totals = PreloadState.Decode(File.ReadAllBytes(stateFile))!.Value;
        Assert.Equal(expect["allocations"], (long)totals.Allocations);
        Assert.Equal(expect["bytes"], (long)totals.AllocatedBytes);
        Assert.Equal(expect["frees"], (long)totals.Frees);
        Assert.Equal(expect["freed_usable"], (long)totals.FreedUsable);
        Assert.Equal(expect["live"], totals.LiveUsable);
        Assert.Equal(PreloadFlags.Injected, totals.Flags);
    }

    [Fact]
    public void At_a_rate_samples_come_as_often_as_expected_and_every_sampled_free_is_one_sampled()
    {
        harness.Run("run", "4096", "12", "20000");
    }

    [Fact]
    public void Each_table_forwards_to_its_own_allocator()
    {
        const string jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
        // Debian's libjemalloc.so.2 uses initial-exec TLS: loaded late, it needs more static TLS
        // than glibc keeps spare (the very reason the sampler has none).
        var output = File.Exists(jemalloc)
            ? harness.RunWith(new() { ["GLIBC_TUNABLES"] = "glibc.rtld.optional_static_tls=16384" }, "tables", "8", "10000", jemalloc)
            : harness.Run("tables", "8", "10000");
        Assert.Contains(output, l => l.StartsWith("check bump-table-forwards-to-bump ok", StringComparison.Ordinal));
    }

    [Fact]
    public void A_second_attach_resets_the_rate_the_counters_and_the_sampled_blocks()
    {
        harness.Run("again", "8", "10000");
    }

    [Fact]
    public void Slots_switched_back_and_forth_while_threads_allocate_and_come_and_go_harm_nothing()
    {
        harness.Run("switch", "16", "100");
    }

    /// <summary>Threads idle through the attach wake together after memprof asks for rate 1: a
    /// call made while another thread carries the request out waits for it and is sampled, so
    /// each thread's first allocation has its event (with the applier held for 20 ms, and racing),
    /// and the counters count each call from the request on, as many as were marked.</summary>
    [Fact]
    public void Calls_made_while_another_thread_applies_the_request_are_sampled_at_its_rate()
    {
        var output = harness.Run("wake", "8", "200", "10");
        Assert.Contains(output, l => l.StartsWith("check calls-wait-for-the-thread-applying ok 0 of 240 calls unmarked", StringComparison.Ordinal));
        Assert.Contains(output, l => l.StartsWith("check every-call-after-the-request-marked ok 0 of 4800 calls unmarked", StringComparison.Ordinal));
        Assert.Contains(output, l => l.StartsWith("check counted-from-the-request ok", StringComparison.Ordinal));
    }

    [Fact]
    public void A_forked_child_counts_from_zero()
    {
        harness.Run("fork", "20000");
    }

    /// <summary>Compiles the harness once for the class.</summary>
    public sealed class Harness : IDisposable
    {
        public string Folder { get; } = Directory.CreateTempSubdirectory("memprof-inject").FullName;
        public string Library { get; } = Path.Combine(AppContext.BaseDirectory, InjectLibrary.FileName);
        readonly string executable;

        public Harness()
        {
            Assert.True(File.Exists(Library), $"{Library} was not built");
            executable = Path.Combine(Folder, "inject_harness");
            string source = Path.Combine(RepoRoot.Path, "tests", "Profiler.Tests", "Collector", "Inject", "inject_harness.c");
            Tool("cc", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-Wno-deprecated-declarations",
                "-I", Path.Combine(RepoRoot.Path, "collectors", "preload"), "-I", Path.Combine(RepoRoot.Path, "collectors", "bpf"),
                "-o", executable, source, "-lm", "-lpthread");
        }

        public List<string> Run(params string[] args) => RunWith([], args);

        /// <summary>Runs a scenario; every check it prints must pass.</summary>
        public List<string> RunWith(Dictionary<string, string> environment, params string[] args)
        {
            var options = new ProcessOptions { Timeout = TimeSpan.FromMinutes(3) };
            foreach (var (name, value) in environment) options = options.WithEnvironment(name, value);
            var result = ProcessRunner.Run(executable, [Library, .. args], options);
            var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
            var failed = lines.Where(l => l.Contains(" FAIL ", StringComparison.Ordinal)).ToList();
            Assert.True(result.ExitCode == 0 && failed.Count == 0, result.Describe($"{string.Join(' ', args)}: {failed.Count} checks failed"));
            Assert.Contains(lines, l => l.StartsWith("check ", StringComparison.Ordinal));
            return lines;
        }

        public void Dispose() => Directory.Delete(Folder, recursive: true);
    }

    static string Tool(string file, params string[] args) => ProcessRunner.RunChecked(file, args).Stdout;
}
