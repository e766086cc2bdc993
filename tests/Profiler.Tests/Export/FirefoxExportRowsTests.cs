using System.Text.Json;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Export;
using Profiler.Firefox;
using Profiler.Tests.Analysis;
using Profiler.Tests.Firefox;
using static Profiler.Tests.Firefox.ProfileJson;

namespace Profiler.Tests.Export;

/// <summary>Which rows and names the Firefox export writes: every row with a stack, so the
/// profiler's two deallocation views agree; only the libraries exported stacks use; and a Memory
/// track that counts a call wherever the bytes changed.</summary>
public sealed class FirefoxExportRowsTests
{
    const long Ms = 1_000_000;

    /// <summary>
    /// app::make allocates 100 B at 0x10 (app::drop frees it), 200 B at 0x20 with no stack
    /// recorded (app::drop frees it), 300 B at 0x30 (freed with no stack recorded) and 50 B at
    /// 0x50 (kept); app::drop frees 0x99, allocated before recording began; a malloc(0) at 0x40,
    /// weighing nothing, is freed too.
    /// </summary>
    static ProfileModel Model()
    {
        var m = new TestModel();
        var make = m.Stack("main", "app::make", "malloc");
        var drop = m.Stack("main", "app::drop", "free");
        m.Alloc(1 * Ms, 0x10, 100, make).Free(2 * Ms, 0x10, stack: drop)
            .Alloc(3 * Ms, 0x20, 200, Profiler.Core.Model.StackId.None).Free(4 * Ms, 0x20, stack: drop)
            .Alloc(5 * Ms, 0x30, 300, make).Free(6 * Ms, 0x30)
            .Free(7 * Ms, 0x99, stack: drop)
            .Alloc(8 * Ms, 0x40, 0, make).Free(9 * Ms, 0x40, stack: drop)
            .Alloc(10 * Ms, 0x50, 50, make);
        return m.Build();
    }

    static JsonElement Allocations(JsonDocument profile) => profile.RootElement.GetProperty("threads")[0].GetProperty("nativeAllocations");

    [Fact]
    public void Events_without_a_stack_get_one_so_deallocation_sites_sum_to_deallocated_memory()
    {
        using var profile = Parse(FirefoxExporter.Build(Model()));
        var root = profile.RootElement;

        var rows = ResolvedAllocations(root, 0).Select(row => row[(row.IndexOf(" w=", StringComparison.Ordinal) + 1)..]).ToList();
        const string make = "app!main(src/main.rs:null)@4096:null in app category=Native > app!app::make(src/make.rs:null)@4160:null in app category=Native > app!malloc(src/malloc.rs:null)@4224:null in app category=Native";
        const string drop = "app!main(src/main.rs:null)@4096:null in app category=Native > app!app::drop(src/drop.rs:null)@4288:null in app category=Native > app!free(src/free.rs:null)@4352:null in app category=Native";
        const string none = "-![stack not recorded](-:null)@-1:null in - category=Native";
        // The free of 0x99 releases nothing recorded; 0x40 and its free weigh nothing, which the
        // profiler would read as two allocations.
        Assert.Equal([
            $"w=100 address=16 tid=1 stack={make}", $"w=-100 address=16 tid=1 stack={drop}",
            $"w=200 address=32 tid=1 stack={none}", $"w=-200 address=32 tid=1 stack={drop}",
            $"w=300 address=48 tid=1 stack={make}", $"w=-300 address=48 tid=1 stack={none}",
            $"w=50 address=80 tid=1 stack={make}"], rows);
        Assert.Equal(new NativeAllocationViews(AllocatedBytes: 650, RetainedBytes: 50, DeallocationSitesBytes: 600, DeallocatedBytes: 600, 0, 0, 0),
            NativeAllocationViews.Of(Allocations(profile)));
        Assert.Empty(ProfileValidator.Validate(profile, FirefoxExporter.OutputRules));
    }

    [Fact]
    public void The_Firefox_Profilers_own_views_agree_on_the_exported_frees()
    {
        var model = Model();
        var path = Path.Combine(Path.GetTempPath(), $"memprof-export-rows-{Guid.NewGuid():N}.json.gz");
        try
        {
            FirefoxExporter.Write(model, path);
            var heap = HeapAnalysis.Compute(model);
            Assert.Equal(new LoaderTotals(heap.Totals.LiveBytes, heap.Totals.AllocatedBytes, heap.Totals.FreedBytes, heap.Totals.FreedBytes),
                FirefoxLoader.Totals(path));
            Assert.Equal(new LoaderTotals(50, 650, 600, 600), FirefoxLoader.Totals(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The recording knows memprof's preload library and one of its functions, in a
    /// stack no event uses (the model builder cut it from the events' stacks).</summary>
    static ProfileModel WithUnusedPreloadFrames(bool anEventUsesThem)
    {
        var m = new TestModel();
        var make = m.Stack("main", "app::make", "malloc");
        var preload = m.Tables.InternModule("/opt/memprof/libmemprof_preload.so", "aabbccddeeff00112233445566778899aabbccdd");
        var sampled = m.Tables.InternFunction("memprof_preload_sampled_alloc", preload, null, null);
        var own = m.Tables.InternStack(make, m.Tables.InternFrame(sampled, preload, 0x2040, null, 0));
        m.Alloc(1 * Ms, 0x10, 100, anEventUsesThem ? own : make);
        return m.Build();
    }

    [Fact]
    public void A_library_no_exported_stack_uses_is_not_listed()
    {
        using var profile = Parse(FirefoxExporter.Build(WithUnusedPreloadFrames(anEventUsesThem: false)));
        var root = profile.RootElement;

        Assert.Equal(["app"], root.GetProperty("libs").EnumerateArray().Select(lib => lib.GetProperty("name").GetString()));
        var shared = root.GetProperty("shared");
        Assert.Equal(["app"], shared.GetProperty("resourceTable").GetProperty("name").EnumerateArray().Select(n => String(root, n.GetInt32())));
        Assert.Equal(["main", "app::make", "malloc"],
            shared.GetProperty("funcTable").GetProperty("name").EnumerateArray().Select(n => String(root, n.GetInt32())));
        Assert.Empty(ProfileValidator.Validate(profile, FirefoxExporter.OutputRules));
    }

    [Fact]
    public void The_output_rules_catch_memprofs_own_frames_where_a_stack_still_has_them()
    {
        using var profile = Parse(FirefoxExporter.Build(WithUnusedPreloadFrames(anEventUsesThem: true)));

        var problems = ProfileValidator.Validate(profile, FirefoxExporter.OutputRules);

        Assert.Contains(problems, p => p.StartsWith("shared.funcTable.name: 1 function(s) named like a forbidden pattern; first at [3] = \"memprof_preload_sampled_alloc\" (memprof_*)", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("shared.resourceTable.name: 1 resource(s)", StringComparison.Ordinal) && p.Contains("libmemprof_preload.so"));
        Assert.Contains(problems, p => p.StartsWith("libs[].path: 1 library(s)", StringComparison.Ordinal) && p.Contains("/opt/memprof/libmemprof_preload.so"));
        Assert.Contains(problems, p => p.StartsWith("shared.nativeSymbols.name: 1 symbol(s)", StringComparison.Ordinal));
        Assert.Empty(ProfileValidator.Validate(profile));
    }

    static HeapTimeline CounterTimeline(params HeapPoint[] points)
    {
        var peak = points.MaxBy(p => p.LiveBytes);
        return new HeapTimeline(1, HeapSource.Counters, points, peak.LiveBytes, peak.TimeNanos, -1, null);
    }

    [Fact]
    public void A_peak_between_two_counter_reads_shares_the_calls_the_second_read_counted()
    {
        const long MB = 1 << 20;
        // Read at 100 ms: 1,000 calls so far. Peak at 150 ms, 331 MB above. Read at 200 ms: 600 calls more.
        var timeline = CounterTimeline(new HeapPoint(100 * Ms, 10 * MB, 1000), new HeapPoint(150 * Ms, 341 * MB, 1000),
            new HeapPoint(200 * Ms, 20 * MB, 1600));

        var samples = MemoryTrack.From(timeline, MemoryTrack.BucketNanos(10_000 * Ms));

        Assert.Equal([new MemoryTrackSample(100 * Ms, 10 * MB, 1000), new MemoryTrackSample(150 * Ms, 331 * MB, 300),
            new MemoryTrackSample(200 * Ms, -321 * MB, 300)], samples);
    }

    [Fact]
    public void Every_change_counts_a_call_even_where_the_counts_say_none()
    {
        // A peak right after a read takes little of the time, but a change takes a call; a last
        // change that no read counted (inconsistent input) still took one.
        var timeline = CounterTimeline(new HeapPoint(100 * Ms, 10, 40), new HeapPoint(100 * Ms + 1, 500, 40),
            new HeapPoint(200 * Ms, 20, 42), new HeapPoint(300 * Ms, 30, 42));

        var samples = MemoryTrack.From(timeline, bucketNanos: 1);

        Assert.Equal([40L, 1, 1, 1], samples.Select(s => s.Operations));
        Assert.All(samples, s => Assert.True(s.DeltaBytes == 0 || s.Operations > 0, $"{s} changed bytes without a call"));
    }

    [Fact]
    public void An_exported_track_of_counters_counts_every_call_once_and_one_wherever_bytes_changed()
    {
        var m = new TestModel();
        var s = m.Stack("main", "app::work");
        m.Alloc(1 * Ms, 0x10, 64, s)
            .Counter(100 * Ms, live: 5_000, peak: 9_000, peakTime: 30 * Ms, allocations: 7, frees: 3)
            .Counter(200 * Ms, live: 5_000, peak: 9_000, peakTime: 30 * Ms, allocations: 9, frees: 5)
            .Counter(300 * Ms, live: 400, peak: 12_000, peakTime: 299 * Ms, allocations: 30, frees: 20);
        using var profile = Parse(FirefoxExporter.Build(m.Build()));

        var samples = profile.RootElement.GetProperty("counters")[0].GetProperty("samples");
        var counts = samples.GetProperty("count").EnumerateArray().Select(c => c.GetInt64()).ToList();
        var numbers = samples.GetProperty("number").EnumerateArray().Select(n => n.GetInt64()).ToList();
        Assert.Equal([9_000L, -4_000, 0, 7_000, -11_600], counts);
        Assert.Equal(50, numbers.Sum());
        Assert.All(counts.Zip(numbers), pair => Assert.True(pair.First == 0 || pair.Second > 0, $"{pair} changed bytes without a call"));
        Assert.Empty(ProfileValidator.Validate(profile, FirefoxExporter.OutputRules));
    }
}
