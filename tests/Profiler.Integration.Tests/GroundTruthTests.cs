using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Formatting;

namespace Profiler.Integration.Tests;

/// <summary>Recording allocs-fp at every call gives exactly the sample's own manifest.</summary>
public sealed class GroundTruthTests(AllocsRecordingFixture fixture) : IClassFixture<AllocsRecordingFixture>
{
    sealed record Observed(long Allocations, long AllocatedBytes, long Frees, long FreedBytes, long LiveBlocks, long LiveBytes, long PeakBytes, HashSet<string> Threads);

    static string ApiName(AllocFunction f) => f switch
    {
        AllocFunction.Malloc => "malloc",
        AllocFunction.Calloc => "calloc",
        AllocFunction.Realloc or AllocFunction.Reallocarray => "realloc",
        AllocFunction.PosixMemalign => "posix_memalign",
        _ => f.ToString().ToLowerInvariant(),
    };

    Dictionary<(string Function, string Api), Observed> ObservedBySite()
    {
        var model = fixture.Model;
        var heap = HeapAnalysis.Compute(model);
        var ev = model.Events;
        // The manifest calls the process's first thread "main"; the kernel names it after the program.
        var threadNames = model.Processes.SelectMany(p => p.Threads.Select(t => (t.Tid, Name: t.Tid == p.Pid ? "main" : t.Name)))
            .ToDictionary(t => t.Tid, t => t.Name);
        var result = new Dictionary<(string, string), Observed>();
        var live = new Dictionary<(string, string), long>();
        for (int i = 0; i < ev.Count; i++)
        {
            int alloc = ev.Kind[i] == EventKind.Alloc ? i : heap.Releases[i];
            if (alloc < 0) continue;
            if (SiteAnalysis.SiteOf(model.Tables, ev.Stack[alloc]) is not { } site) continue;
            var key = (model.Tables.Function(site).Name, ApiName(ev.Function[alloc]));
            if (!result.TryGetValue(key, out var o)) result[key] = o = new Observed(0, 0, 0, 0, 0, 0, 0, []);
            long bytes = (long)ev.Weight[alloc];
            if (ev.Kind[i] == EventKind.Alloc)
            {
                bool leaked = heap.FreedBy[i] < 0;
                live[key] = live.GetValueOrDefault(key) + bytes;
                o.Threads.Add(threadNames.GetValueOrDefault(ev.Tid[i], "?"));
                result[key] = o with
                {
                    Allocations = o.Allocations + 1, AllocatedBytes = o.AllocatedBytes + bytes,
                    LiveBlocks = o.LiveBlocks + (leaked ? 1 : 0), LiveBytes = o.LiveBytes + (leaked ? bytes : 0),
                    PeakBytes = Math.Max(o.PeakBytes, live[key]),
                };
            }
            else
            {
                live[key] -= bytes;
                result[key] = o with { Frees = o.Frees + 1, FreedBytes = o.FreedBytes + bytes };
            }
        }
        return result;
    }

    [Fact]
    public void Every_manifest_site_has_exactly_its_bytes_and_counts()
    {
        var observed = ObservedBySite();
        Assert.NotEmpty(fixture.Manifest);
        foreach (var site in fixture.Manifest)
        {
            Assert.True(observed.TryGetValue((site.Function, site.Api), out var o),
                $"no allocations attributed to {site.Function} ({site.Api}); sites seen: {string.Join(", ", observed.Keys.Take(30))}");
            var expected = (site.Allocations, site.AllocatedBytes, site.Frees, site.FreedBytes, site.LiveBlocksAtExit, site.LiveBytesAtExit, site.PeakBytes);
            var actual = (o.Allocations, o.AllocatedBytes, o.Frees, o.FreedBytes, o.LiveBlocks, o.LiveBytes, o.PeakBytes);
            Assert.True(expected == actual, $"{site.Function} ({site.Api}): expected {expected}, recorded {actual}");
            Assert.Equal([site.Thread], o.Threads.ToArray());
        }
    }

    [Fact]
    public void Every_allocation_of_a_site_has_the_full_chain_with_the_direct_caller()
    {
        var model = fixture.Model;
        var ev = model.Events;
        var sites = fixture.Manifest.GroupBy(s => s.Function).ToDictionary(g => g.Key, g => g.First());
        int checkedCount = 0;
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] != EventKind.Alloc) continue;
            var functions = model.Tables.FramesLeafFirst(ev.Stack[i]).Select(model.Tables.FunctionName)
                .SkipWhile(AllocatorFrames.IsAllocator).ToList();
            if (functions.Count == 0 || !sites.TryGetValue(functions[0], out var site)) continue;
            var chain = site.Chain;
            var innermost = functions.Take(chain.Length).Reverse().ToArray();
            Assert.True(chain.SequenceEqual(innermost),
                $"expected the chain {string.Join(" → ", chain)}, the stack reads (leaf first) {string.Join(" ← ", functions)}");
            // Below the chain the stack goes on to where the thread began.
            var outer = functions.Skip(chain.Length).ToList();
            if (site.Thread == "main") Assert.Contains("allocs::main", outer);
            else Assert.Contains(outer, f => f.EndsWith("thread_start", StringComparison.Ordinal));
            checkedCount++;
        }
        Assert.Equal(fixture.Manifest.Sum(s => s.Allocations), checkedCount);
    }

    [Fact]
    public void Report_lists_every_site_with_its_exact_bytes_and_counts()
    {
        var result = CliRunner.Run("report", "--top", "50", "--by", "allocated", fixture.Recording);
        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n');
        foreach (var site in fixture.Manifest.GroupBy(s => s.Function))
        {
            // Each site's name line follows its line of numbers: retained, blocks, …, allocated, allocs, freed.
            int at = Array.FindIndex(lines, l => l.StartsWith($"      {site.Key}  ", StringComparison.Ordinal));
            Assert.True(at > 0, $"{site.Key} is missing from the report:\n{result.Stdout}");
            Assert.Contains($"{ReportFormat.Bytes(site.Sum(s => s.LiveBytesAtExit)),9} {ReportFormat.Count(site.Sum(s => s.LiveBlocksAtExit)),8} ", lines[at - 1]);
            Assert.Contains($" {ReportFormat.Bytes(site.Sum(s => s.AllocatedBytes)),9} {ReportFormat.Count(site.Sum(s => s.Allocations)),9} " +
                            $"{ReportFormat.Bytes(site.Sum(s => s.FreedBytes)),9} ", lines[at - 1]);
        }
    }

    [Fact]
    public void Recording_has_modules_threads_and_no_losses()
    {
        var model = fixture.Model;
        Assert.Equal(0UL, model.Info.LostEvents);
        Assert.Contains(model.Tables.Modules, m => m.Name == "allocs-fp" && m.BuildId.Length == 40);
        Assert.Contains(model.Tables.Modules, m => m.Name.StartsWith("libc.so", StringComparison.Ordinal));
        Assert.Contains(model.Processes.Single().Threads, t => t.Name == "worker");
        Assert.Empty(model.Info.Warnings);
    }
}
