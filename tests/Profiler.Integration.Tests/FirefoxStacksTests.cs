using System.IO.Compression;
using System.Text.Json;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Export;
using Profiler.Firefox;
using Profiler.Tests.Firefox;

namespace Profiler.Integration.Tests;

/// <summary>Records `allocs-nofp heavy` once in preload mode at the default sampling rate, with
/// the Firefox profile `record` writes beside it.</summary>
public sealed class HeavyPreloadRecording : IDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), $"memprof-fxstacks-{Guid.NewGuid():N}");
    public string Recording => Path.Combine(Directory, "heavy.memprof");
    public string Firefox => Path.Combine(Directory, "heavy.json.gz");
    internal IReadOnlyList<ManifestSite> Manifest { get; }
    public ProfileModel Model { get; }
    public JsonDocument Profile { get; }

    public HeavyPreloadRecording()
    {
        RootRequired.Check();
        System.IO.Directory.CreateDirectory(Directory);
        var sample = RepoPaths.Sample("allocs-nofp");
        Manifest = Integration.Tests.Manifest.Read(sample, "heavy");
        var result = CliRunner.Run("record", "--mode", "preload", "-o", Recording, "--", sample, "heavy");
        Assert.True(result.ExitCode == 0, $"record failed ({result.ExitCode}): {result.Stderr}");
        Assert.Contains("in-process sampling (preload library", result.Stderr);
        Model = RecordingLoader.Load(Recording, TextWriter.Null);
        using var gz = new GZipStream(File.OpenRead(Firefox), CompressionMode.Decompress);
        Profile = JsonDocument.Parse(gz);
    }

    public void Dispose()
    {
        Profile.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// What the Firefox Profiler shows of a sampled preload-mode recording: only the program's own
/// frames (none of memprof's preload library), frees unwound as deep as allocations, Deallocation
/// Sites summing to Deallocated Memory as the profiler's own loader computes them, and a Memory
/// track that counts a call wherever its bytes changed.
/// </summary>
public sealed class FirefoxStacksTests(HeavyPreloadRecording fixture) : IClassFixture<HeavyPreloadRecording>
{
    JsonElement Root => fixture.Profile.RootElement;

    JsonElement Allocations => Root.GetProperty("threads").EnumerateArray()
        .Single(thread => thread.TryGetProperty("nativeAllocations", out _)).GetProperty("nativeAllocations");

    [Fact]
    public void No_function_library_or_symbol_of_memprof_appears_and_the_views_agree()
    {
        var problems = ProfileValidator.Validate(fixture.Profile, FirefoxExporter.OutputRules);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Free_stacks_are_as_deep_as_allocation_stacks_of_the_same_function()
    {
        var rows = Rows();
        var problems = new List<string>();
        foreach (var function in fixture.Manifest.Where(site => site.Frees > 0).Select(site => site.Function).Distinct())
        {
            var allocDepths = rows.Where(r => r.Weight > 0 && r.Stack.Contains(function)).Select(r => r.Stack.Count).ToList();
            var freeDepths = rows.Where(r => r.Weight < 0 && r.Stack.Contains(function)).Select(r => r.Stack.Count).ToList();
            if (allocDepths.Count == 0 || freeDepths.Count == 0)
            {
                problems.Add($"{function}: {allocDepths.Count} allocation and {freeDepths.Count} free stacks pass through it");
                continue;
            }
            int usual = Mode(allocDepths);
            // The free's entry frame (dealloc) stands where the allocation's (alloc) does.
            var off = freeDepths.Where(depth => Math.Abs(depth - usual) > 1).ToList();
            if (off.Count == 0) continue;
            var example = rows.First(r => r.Weight < 0 && r.Stack.Contains(function) && Math.Abs(r.Stack.Count - usual) > 1);
            problems.Add($"{function}: {off.Count} of {freeDepths.Count} free stacks are {Mode(off)} frames deep, allocations {usual}; " +
                $"e.g. {string.Join(" > ", example.Stack)}");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Reallocations_are_named_by_the_programs_realloc_call()
    {
        const string function = "allocs::heavy::heavy_realloc";
        var below = Rows().Where(r => r.Weight > 0 && r.Stack.Contains(function))
            .Select(r => r.Stack.Skip(r.Stack.IndexOf(function) + 1).ToList()).ToList();
        Assert.NotEmpty(below);
        // The initial malloc of each chain goes through alloc, the growth through realloc; no frame is memprof's.
        Assert.Contains(below, frames => frames.Any(name => name.Contains("realloc", StringComparison.Ordinal)));
        var memprofs = below.SelectMany(frames => frames).Where(name => name.Contains("memprof", StringComparison.Ordinal)).ToList();
        Assert.True(memprofs.Count == 0, $"{memprofs.Count} frames under {function} are memprof's: {string.Join(", ", memprofs.Distinct())}");
    }

    [Fact]
    public void Deallocation_sites_sum_to_deallocated_memory_in_the_Firefox_Profilers_own_views()
    {
        var views = NativeAllocationViews.Of(Allocations);
        Assert.NotNull(views);
        Assert.True(views.DeallocatedBytes > 0, "nothing deallocated");
        Assert.Equal(views.DeallocationSitesBytes, views.DeallocatedBytes);

        var heap = HeapAnalysis.Compute(fixture.Model);
        var loaded = FirefoxLoader.Totals(fixture.Firefox);
        Assert.Equal(new LoaderTotals(heap.Totals.LiveBytes, heap.Totals.AllocatedBytes, heap.Totals.FreedBytes, heap.Totals.FreedBytes), loaded);
    }

    [Fact]
    public void Every_memory_track_sample_whose_bytes_changed_counts_a_call()
    {
        var counter = Assert.Single(Root.GetProperty("counters").EnumerateArray());
        var samples = counter.GetProperty("samples");
        var counts = samples.GetProperty("count").EnumerateArray().Select(c => c.GetInt64()).ToList();
        var numbers = samples.GetProperty("number").EnumerateArray().Select(n => n.GetInt64()).ToList();
        Assert.True(counts.Count(c => c != 0) >= 2, $"the track has only {counts.Count} samples");
        var uncounted = counts.Zip(numbers).Where(pair => pair.First != 0 && pair.Second == 0).ToList();
        Assert.True(uncounted.Count == 0, $"{uncounted.Count} samples changed bytes without a call: {string.Join(", ", uncounted)}");
        // The exact counters counted every call of the program, and the track shows each once.
        var exact = HeapTimelines.Compute(fixture.Model, HeapAnalysis.Compute(fixture.Model)).Processes.Single().Exact;
        Assert.NotNull(exact);
        Assert.Equal((long)(exact.Allocations + exact.Frees), numbers.Sum());
        Assert.True(numbers.Sum() >= fixture.Manifest.Sum(site => site.Allocations), "fewer calls than the program's allocations");
    }

    sealed record Row(long Weight, List<string> Stack);

    /// <summary>Each row of the allocation table, its stack as function names from the root.</summary>
    List<Row> Rows()
    {
        var shared = Root.GetProperty("shared");
        var strings = shared.GetProperty("stringArray").EnumerateArray().Select(s => s.GetString()!).ToArray();
        var funcName = Ints(shared.GetProperty("funcTable"), "name");
        var frameFunc = Ints(shared.GetProperty("frameTable"), "func");
        var stackFrame = Ints(shared.GetProperty("stackTable"), "frame");
        var prefix = Ints(shared.GetProperty("stackTable"), "prefixOffset");
        var names = new Dictionary<int, List<string>>();
        List<string> Names(int stack)
        {
            if (names.TryGetValue(stack, out var known)) return known;
            var frames = new List<string>();
            for (int s = stack; ; s -= prefix[s])
            {
                frames.Add(strings[funcName[frameFunc[stackFrame[s]]]]);
                if (prefix[s] == 0) break;
            }
            frames.Reverse();
            return names[stack] = frames;
        }
        var weights = Allocations.GetProperty("weight").EnumerateArray().Select(w => w.GetInt64()).ToList();
        var stacks = Allocations.GetProperty("stack").EnumerateArray().ToList();
        // Every row has a stack: the structural check reports one that has none.
        return weights.Select((weight, row) => new Row(weight, stacks[row].ValueKind == JsonValueKind.Null ? [] : Names(stacks[row].GetInt32()))).ToList();
    }

    static int Mode(IEnumerable<int> values) => values.GroupBy(v => v).MaxBy(g => g.Count())!.Key;

    static int[] Ints(JsonElement table, string column) =>
        table.GetProperty(column).EnumerateArray().Select(v => v.GetInt32()).ToArray();
}
