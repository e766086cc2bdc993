using System.Text.Json;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Export;
using Profiler.Firefox;
using Profiler.Tests.Analysis;
using Profiler.Tests.Firefox;
using static Profiler.Tests.Firefox.ProfileJson;

namespace Profiler.Tests.Export;

/// <summary>The Firefox export of hand-built models: the Memory track, the peak marker, file:line and inlined frames.</summary>
public sealed class FirefoxExportTests
{
    const long Ms = 1_000_000;

    /// <summary>
    /// One process: app::helper, inlined into app::outer, allocates 100 B (10–120 ms) and 200 B
    /// (140–160 ms); app::other allocates 50 B at 155 ms (never freed) and 8 B (240–250 ms). The
    /// counters report 1,000 B live at 100 ms (peak so far 1,500 B at 50 ms) and 800 B at 200 ms
    /// (peak 2,000 B at 150 ms).
    /// </summary>
    internal static ProfileModel Model(bool counters = true)
    {
        var m = new TestModel().Process(1, "app")
            .Declare("app::outer", "src/outer.rs", 4).Declare("app::helper", "src/helper.rs", 11);
        var inlined = m.Stack("main:3", "app::outer:5", "app::helper:12@1", "malloc");
        var other = m.Stack("main:3", "app::other:7", "malloc");
        m.Alloc(10 * Ms, 0x10, 100, inlined).Free(120 * Ms, 0x10)
            .Alloc(140 * Ms, 0x20, 200, inlined).Free(160 * Ms, 0x20)
            .Alloc(155 * Ms, 0x30, 50, other)
            .Alloc(240 * Ms, 0x40, 8, other).Free(250 * Ms, 0x40);
        if (counters)
        {
            m.Counter(100 * Ms, live: 1000, peak: 1500, peakTime: 50 * Ms, allocations: 10, frees: 5);
            m.Counter(200 * Ms, live: 800, peak: 2000, peakTime: 150 * Ms, allocations: 20, frees: 15);
        }
        return m.Build();
    }

    static List<(double TimeMs, long Count, long Number)> CounterSamples(JsonElement counter)
    {
        var samples = counter.GetProperty("samples");
        return Enumerable.Range(0, samples.GetProperty("length").GetInt32())
            .Select(i => (samples.GetProperty("time")[i].GetDouble(), samples.GetProperty("count")[i].GetInt64(), samples.GetProperty("number")[i].GetInt64()))
            .ToList();
    }

    static (string Name, double TimeMs, long Bytes, string Detail) OnlyMarker(JsonElement profile)
    {
        var markers = profile.GetProperty("threads")[0].GetProperty("markers");
        Assert.Equal(1, markers.GetProperty("length").GetInt32());
        var data = markers.GetProperty("data")[0];
        return (String(profile, markers.GetProperty("name")[0].GetInt32()), markers.GetProperty("startTime")[0].GetDouble(),
            data.GetProperty("bytes").GetInt64(), data.GetProperty("detail").GetString()!);
    }

    [Fact]
    public void The_memory_track_follows_the_exact_counters_and_the_marker_sits_at_their_peak()
    {
        using var profile = Parse(FirefoxExporter.Build(Model()));
        var root = profile.RootElement;

        var counter = Assert.Single(root.GetProperty("counters").EnumerateArray());
        // Live bytes 1,500 → 1,000 → 2,000 → 800 as deltas. The counters counted 15 calls up to
        // 100 ms and 20 more up to 200 ms; each peak, halfway, gets half of its read's calls.
        Assert.Equal([(50.0, 1500L, 8L), (100.0, -500L, 7L), (150.0, 1000L, 10L), (200.0, -1200L, 10L)], CounterSamples(counter));
        Assert.Contains("exact", counter.GetProperty("description").GetString());
        var marker = OnlyMarker(root);
        Assert.Equal((FirefoxExporter.PeakMarker, 150.0, 2000L), (marker.Name, marker.TimeMs, marker.Bytes));
        Assert.Contains("exact", marker.Detail);
        Assert.Empty(ProfileValidator.Validate(profile));
    }

    [Fact]
    public void Without_counters_the_track_and_the_marker_come_from_the_events()
    {
        using var profile = Parse(FirefoxExporter.Build(Model(counters: false)));
        var root = profile.RootElement;

        var counter = Assert.Single(root.GetProperty("counters").EnumerateArray());
        Assert.Equal([(10.0, 100L, 1L), (120.0, -100L, 1L), (140.0, 200L, 1L), (155.0, 50L, 1L), (160.0, -200L, 1L), (240.0, 8L, 1L), (250.0, -8L, 1L)],
            CounterSamples(counter));
        var marker = OnlyMarker(root);
        Assert.Equal((155.0, 250L), (marker.TimeMs, marker.Bytes));
        Assert.Contains("every allocation recorded", marker.Detail);
        Assert.Empty(ProfileValidator.Validate(profile));
    }

    [Fact]
    public void A_coarse_track_keeps_the_peak_and_the_final_level()
    {
        var model = Model(counters: false);
        var timeline = HeapTimelines.Compute(model, HeapAnalysis.Compute(model)).Of(1)!;

        var samples = MemoryTrack.From(timeline, bucketNanos: 100 * Ms);

        // Buckets [0, 100), [100, 200), [200, 300) ms: their last points, and the peak at 155 ms.
        Assert.Equal([new MemoryTrackSample(10 * Ms, 100, 1), new MemoryTrackSample(155 * Ms, 150, 3),
            new MemoryTrackSample(160 * Ms, -200, 1), new MemoryTrackSample(250 * Ms, 0, 2)], samples);
        Assert.Equal(timeline.FinalLiveBytes, samples.Sum(s => s.DeltaBytes));
    }

    [Fact]
    public void Frames_carry_file_line_and_inlining()
    {
        using var profile = Parse(FirefoxExporter.Build(Model()));
        var root = profile.RootElement;
        var allocations = root.GetProperty("threads")[0].GetProperty("nativeAllocations");

        Assert.Equal(
            "app!main(src/main.rs:null)@4096:3 in app category=Native > " +
            "app!app::outer(src/outer.rs:4)@4160:5 in app category=Native > " +
            "app!app::helper(src/helper.rs:11)@4160:12 in app category=Native > " +
            "app!malloc(src/malloc.rs:null)@4224:null in app category=Native",
            ResolveStack(root, allocations.GetProperty("stack")[0].GetInt32()));

        var shared = root.GetProperty("shared");
        var frames = shared.GetProperty("frameTable");
        var names = Enumerable.Range(0, frames.GetProperty("length").GetInt32())
            .ToDictionary(f => String(root, shared.GetProperty("funcTable").GetProperty("name")[frames.GetProperty("func")[f].GetInt32()].GetInt32()));
        Assert.Equal(1, frames.GetProperty("inlineDepth")[names["app::helper"]].GetInt32());
        Assert.Equal(0, frames.GetProperty("inlineDepth")[names["app::outer"]].GetInt32());
        // The inlined frame names the symbol of the function it was inlined into.
        int symbol = frames.GetProperty("nativeSymbol")[names["app::helper"]].GetInt32();
        Assert.Equal(symbol, frames.GetProperty("nativeSymbol")[names["app::outer"]].GetInt32());
        var symbols = shared.GetProperty("nativeSymbols");
        Assert.Equal("app::outer", String(root, symbols.GetProperty("name")[symbol].GetInt32()));
        Assert.Equal((4160, 0), (symbols.GetProperty("address")[symbol].GetInt64(), symbols.GetProperty("libIndex")[symbol].GetInt32()));
        Assert.Equal(4, symbols.GetProperty("length").GetInt32());
        Assert.Empty(ProfileValidator.Validate(profile));
    }

    [Fact]
    public void Each_process_gets_its_own_track_and_peak()
    {
        var m = new TestModel().Process(1, "parent").Process(2, "child", parent: 1);
        var s = m.Stack("main", "app::work");
        m.Alloc(1 * Ms, 0x10, 64, s).Alloc(2 * Ms, 0x10, 32, s, pid: 2).Free(3 * Ms, 0x10, pid: 2)
            .Counter(5 * Ms, live: 70, peak: 90, peakTime: 4 * Ms, allocations: 3, frees: 1);
        using var profile = Parse(FirefoxExporter.Build(m.Build()));
        var root = profile.RootElement;

        var counters = root.GetProperty("counters").EnumerateArray().ToList();
        Assert.Equal(["1", "2"], counters.Select(c => c.GetProperty("pid").GetString()));
        Assert.Equal([(4.0, 90L, 3L), (5.0, -20L, 1L)], CounterSamples(counters[0]));
        Assert.Equal([(2.0, 32L, 1L), (3.0, -32L, 1L)], CounterSamples(counters[1]));
        var threads = root.GetProperty("threads");
        Assert.Equal(4.0, threads[0].GetProperty("markers").GetProperty("startTime")[0].GetDouble());
        Assert.Equal(32, threads[1].GetProperty("markers").GetProperty("data")[0].GetProperty("bytes").GetInt64());
        Assert.Empty(ProfileValidator.Validate(profile));
    }

    [Fact]
    public void The_Firefox_Profiler_loads_counters_markers_file_lines_and_inlined_frames()
    {
        var model = Model();
        var path = Path.Combine(Path.GetTempPath(), $"memprof-export-{Guid.NewGuid():N}.json.gz");
        try
        {
            FirefoxExporter.Write(model, path);
            var loaded = LoaderQueries.Inspect(path);

            var heap = HeapAnalysis.Compute(model);
            Assert.Equal(new LoaderResult(heap.Totals.LiveBytes, heap.Totals.AllocatedBytes), loaded.Totals);
            // The model's frees have no stack of their own: they still count in Deallocation Sites.
            Assert.Equal((heap.Totals.FreedBytes, heap.Totals.FreedBytes), (loaded.AllTotals.DeallocationSitesBytes, loaded.AllTotals.DeallocatedBytes));

            // The track is drawn relative to its lowest point: 2,000 B at the peak, 800 B at the end.
            var range = Assert.Single(loaded.Counter.GetProperty("stats").EnumerateArray(), s => s.GetProperty("source").GetString() == "count-range");
            Assert.Equal(2000 - 800, range.GetProperty("value").GetInt64());
            Assert.Equal(4, loaded.Counter.GetProperty("sampleCount").GetInt32());

            var peak = Assert.Single(loaded.Markers.GetProperty("byType").EnumerateArray());
            Assert.Equal(FirefoxExporter.PeakMarker, peak.GetProperty("markerName").GetString());
            var marker = Assert.Single(peak.GetProperty("topMarkers").EnumerateArray());
            double rangeStart = loaded.Markers.GetProperty("context").GetProperty("rootRange").GetProperty("start").GetDouble();
            Assert.Equal(150.0, marker.GetProperty("start").GetDouble() + rangeStart, 6);
            Assert.Contains("2,000", marker.GetProperty("label").GetString());

            var nodes = Flatten(loaded.AllocationTree.GetProperty("regularCallTree"))
                .GroupBy(n => n.GetProperty("name").GetString()!).ToDictionary(g => g.Key, g => g.First());
            Assert.Equal("inlined", nodes["app::helper"].GetProperty("inlineStatus").GetString());
            Assert.Equal(300, nodes["app::helper"].GetProperty("totalSamples").GetInt64());
            Assert.False(nodes["app::outer"].TryGetProperty("inlineStatus", out var status) && status.ValueKind == JsonValueKind.String);
            Assert.Equal(58, nodes["app::other"].GetProperty("totalSamples").GetInt64());
        }
        finally
        {
            File.Delete(path);
        }
    }

    static IEnumerable<JsonElement> Flatten(JsonElement node) =>
        node.GetProperty("children").EnumerateArray().SelectMany(child => Flatten(child).Prepend(child));
}
