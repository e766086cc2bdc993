using System.Diagnostics;
using Profiler.Collectors.Linux.Inject;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Export;
using Xunit.Abstractions;

namespace Profiler.Integration.Tests;

/// <summary>`memprof record --pid` without a mode: the sampler injected where it can be, exact at
/// --rate 1 from the attach on; probes, said in one line, where it cannot be. memprof runs as a
/// process of its own: the targets are this process's children, and .NET's reaping of them would
/// swallow the ptrace stops of an in-process memprof.</summary>
public sealed class AutoAttachTests(ITestOutputHelper log)
{
    static string ApiName(AllocFunction f) => f switch
    {
        AllocFunction.Malloc => "malloc",
        AllocFunction.Calloc => "calloc",
        AllocFunction.Realloc or AllocFunction.Reallocarray => "realloc",
        AllocFunction.PosixMemalign => "posix_memalign",
        _ => f.ToString().ToLowerInvariant(),
    };

    /// <summary>allocs serve-rounds runs the default manifest's workloads once per SIGUSR1: one
    /// round, started after the attach, must be recorded exactly — every site, every API (glibc's
    /// malloc, calloc, realloc, posix_memalign; libjemalloc.so.2's malloc, calloc, realloc,
    /// mallocx, sdallocx), every free — and no free of a block from before the attach recorded.</summary>
    [Theory]
    [InlineData("allocs-fp", "libc.so.6")]
    [InlineData("allocs-jemalloc-dyn", "libjemalloc.so.2")]
    public void Auto_injects_and_records_a_round_started_after_the_attach_exactly_at_rate_1(string sample, string allocator)
    {
        RootRequired.Check();
        using var target = ProcessRunner.Start(RepoPaths.Sample(sample), ["serve-rounds"]);
        Assert.StartsWith("ready", target.ReadLine(TimeSpan.FromSeconds(60)));
        using var memory = ProcMemory.Open(target.Id);
        var slots = InjectAttachTests.Slots(target.Id, memory);
        var manifest = Manifest.Read(RepoPaths.Sample(sample));
        var dir = Directory.CreateTempSubdirectory("memprof-auto-attach");
        string output = Path.Combine(dir.FullName, "round.memprof");
        // At --rate 1 every call is an event: a reader that falls behind for a moment loses some,
        // and exactness can only be judged without loss (as ExactRecording does for launches).
        for (int round = 1; ; round++)
        {
            using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--pid", target.Id.ToString(), "--no-firefox", "-o", output);
            var clock = Stopwatch.StartNew();
            while (!memprof.StandardErrorSoFar.Contains(", probes: ") && !memprof.HasExited && clock.Elapsed < TimeSpan.FromSeconds(120))
                Thread.Sleep(20);
            string started = memprof.StandardErrorSoFar.Split('\n')[0];
            Assert.Contains("probes: in-process sampling injected into the running process", started);
            Assert.Contains($"({allocator})", started);

            Assert.Equal(0, TestSignals.Send(target.Id, TestSignals.SIGUSR1));
            Assert.Equal($"round {round}", target.ReadLine(TimeSpan.FromSeconds(60)));
            Assert.Equal(0, TestSignals.Send(memprof.Id, TestSignals.SIGINT));
            var result = memprof.WaitForExit(TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 0, result.Describe("memprof failed"));
            Assert.Contains("allocator slots restored in", result.Stderr);
            Assert.Equal(slots, InjectAttachTests.Slots(target.Id, memory));

            var model = RecordingLoader.Load(output, TextWriter.Null);
            if (model.Info.LostEvents > 0)
            {
                Assert.True(round < 3, $"{model.Info.LostEvents:N0} events lost in each of 3 rounds");
                log.WriteLine($"round {round}: {model.Info.LostEvents:N0} events lost, recording another round");
                continue;
            }
            var heap = HeapAnalysis.Compute(model);
            Assert.Equal(0, heap.Totals.UnmatchedFrees);
            var sites = SiteTotals.Of(model);
            Assert.Empty(SiteTotals.Mismatches(manifest, sites));
            var apis = ApisBySite(model, heap);
            foreach (var site in manifest)
                Assert.True(apis.GetValueOrDefault((site.Function, site.Api)) == (site.Allocations, site.Frees),
                    $"{site.Function} ({site.Api}): expected {(site.Allocations, site.Frees)} allocations and frees, recorded {apis.GetValueOrDefault((site.Function, site.Api))}");
            break;
        }
        Assert.False(target.HasExited, $"the target died: {target.StandardErrorSoFar}");
        dir.Delete(recursive: true);
    }

    static Dictionary<(string Function, string Api), (long Allocations, long Frees)> ApisBySite(ProfileModel model, HeapAnalysis heap)
    {
        var ev = model.Events;
        var result = new Dictionary<(string, string), (long, long)>();
        for (int i = 0; i < ev.Count; i++)
        {
            int alloc = ev.Kind[i] == EventKind.Alloc ? i : heap.Releases[i];
            if (alloc < 0 || SiteAnalysis.SiteOf(model.Tables, ev.Stack[alloc]) is not { } site) continue;
            var key = (model.Tables.Function(site).Name, ApiName(ev.Function[alloc]));
            var (allocations, frees) = result.GetValueOrDefault(key);
            result[key] = ev.Kind[i] == EventKind.Alloc ? (allocations + 1, frees) : (allocations, frees + 1);
        }
        return result;
    }

    [Fact]
    public void Auto_probes_a_program_whose_allocator_is_linked_in_and_says_why()
    {
        RootRequired.Check();
        using var target = ServeTarget.Start("allocs-jemalloc");
        var dir = Directory.CreateTempSubdirectory("memprof-auto-linked");
        string output = Path.Combine(dir.FullName, "linked.memprof");
        using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--pid", target.Id.ToString(), "--duration", "1s", "--no-firefox", "-o", output);
        var result = memprof.WaitForExit(TimeSpan.FromSeconds(120));
        Assert.True(result.ExitCode == 0, result.Describe("memprof failed"));
        const string Why = "attach by injection not possible (the program's allocator is linked into it (_rjem_malloc): its calls go through no allocator slot): probing every allocator call";
        Assert.StartsWith($"memprof: every allocation, probes: {Why}; ", result.Stderr);
        var recording = RecordingReader.Read(output);
        Assert.StartsWith(Why + "; ", recording.Header.Mode);
        Assert.True(SiteTotals.Of(RecordingLoader.Load(output, TextWriter.Null)).GetValueOrDefault("allocs::serve_tick")?.Allocations > 0,
            "the program's own jemalloc calls were not probed");
        Assert.DoesNotContain(File.ReadAllLines($"/proc/{target.Id}/maps"), l => l.EndsWith(Profiler.Collectors.Linux.Preload.InjectLibrary.FileName, StringComparison.Ordinal));
        Assert.False(target.HasExited);
        dir.Delete(recursive: true);
    }
}

static partial class TestSignals
{
    public const int SIGINT = 2, SIGUSR1 = 10;

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    public static partial int Send(int pid, int signal);
}
