using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using Profiler.Firefox;
using static Profiler.Tests.Firefox.ProfileJson;

namespace Profiler.Tests.Firefox;

public class ProfileBuilderTests
{
    [Fact]
    public void Rebuilding_the_fixture_gives_the_same_allocations_stacks_and_counter()
    {
        using var fixture = Load(FirefoxTestFiles.ExampleProfile);
        using var built = Parse(ExampleProfiles.LikeTheFixture());

        Assert.Equal(ResolvedAllocations(fixture.RootElement, 0), ResolvedAllocations(built.RootElement, 0));
        var fixtureCounter = JsonNode.Parse(fixture.RootElement.GetProperty("counters")[0].GetRawText());
        var builtCounter = JsonNode.Parse(built.RootElement.GetProperty("counters")[0].GetRawText());
        Assert.True(JsonNode.DeepEquals(fixtureCounter, builtCounter), builtCounter!.ToJsonString());
        Assert.Empty(ProfileValidator.Validate(built));
    }

    [Fact]
    public void Interning_returns_the_same_ids_for_the_same_rows()
    {
        var builder = new ProfileBuilder("test", 0);
        var lib = builder.AddLib(TestLib("a"));
        var func = builder.InternFunc("f", lib, "f.c", 1);
        Assert.Equal(func, builder.InternFunc("f", lib, "f.c", 1));
        Assert.NotEqual(func, builder.InternFunc("f", lib, "f.c", 2));
        var frame = builder.InternFrame(func, 0x10, line: 3);
        Assert.Equal(frame, builder.InternFrame(func, 0x10, line: 3));
        Assert.NotEqual(frame, builder.InternFrame(func, 0x10, line: 4));
        var root = builder.InternStack(null, frame);
        Assert.Equal(root, builder.InternStack(null, frame));
        var child = builder.InternStack(root, frame);
        Assert.NotEqual(root, child);
        Assert.Equal(child, builder.InternStack(frame, frame));
        Assert.Equal(builder.InternString("f"), builder.InternString("f"));

        using var profile = Parse(builder);
        var strings = profile.RootElement.GetProperty("shared").GetProperty("stringArray").EnumerateArray().Select(s => s.GetString()).ToList();
        Assert.Equal(strings.Distinct().Count(), strings.Count);
    }

    [Fact]
    public void Stack_rows_point_back_to_parents_that_come_first()
    {
        var builder = new ProfileBuilder("test", 0);
        var frames = Enumerable.Range(0, 4).Select(i => builder.InternFrame(builder.InternFunc($"f{i}"))).ToArray();
        var left = builder.InternStack(frames[0], frames[1], frames[2]);
        var right = builder.InternStack(frames[0], frames[3]);

        using var profile = Parse(builder);
        var stacks = profile.RootElement.GetProperty("shared").GetProperty("stackTable");
        Assert.Equal(["0", "1", "2", "3"], Strings(stacks.GetProperty("frame")));
        Assert.Equal(["0", "1", "1", "3"], Strings(stacks.GetProperty("prefixOffset")));
        Assert.Equal("-!f0(-:null)@-1:null in - category=Native > -!f3(-:null)@-1:null in - category=Native", ResolveStack(profile.RootElement, right.Index));
        Assert.Equal(2, left.Index);
    }

    [Fact]
    public void Libraries_with_functions_get_one_resource_each_and_files_one_source_each()
    {
        var builder = new ProfileBuilder("test", 0);
        builder.AddLib(TestLib("unused"));
        var app = builder.AddLib(TestLib("app"));
        builder.InternFrame(builder.InternFunc("one", app, "src/lib.rs", 10), 0x20, line: 12);
        builder.InternFrame(builder.InternFunc("two", app, "src/lib.rs", 30));
        builder.InternFrame(builder.InternFunc("jitted"));
        builder.AddThread(builder.AddProcess(1, "p", 0), 1, "t", isMain: true);

        using var profile = Parse(builder);
        var shared = profile.RootElement.GetProperty("shared");
        var resources = shared.GetProperty("resourceTable");
        Assert.Equal(1, resources.GetProperty("length").GetInt32());
        Assert.Equal("app", String(profile.RootElement, resources.GetProperty("name")[0].GetInt32()));
        Assert.Equal(["1"], Strings(resources.GetProperty("type")));
        var funcs = shared.GetProperty("funcTable");
        Assert.Equal(["0", "0", "-1"], Strings(funcs.GetProperty("resource")));
        Assert.Equal(["0", "0", "null"], Strings(funcs.GetProperty("source")));
        Assert.Equal(["10", "30", "null"], Strings(funcs.GetProperty("lineNumber")));
        var frames = shared.GetProperty("frameTable");
        Assert.Equal(["1", "1", "-1"], Strings(frames.GetProperty("lib")));
        Assert.Equal(["32", "-1", "-1"], Strings(frames.GetProperty("address")));
        Assert.Equal(["12", "null", "null"], Strings(frames.GetProperty("line")));
        Assert.Equal("src/lib.rs", String(profile.RootElement, shared.GetProperty("sources").GetProperty("filename")[0].GetInt32()));
        Assert.Empty(ProfileValidator.Validate(profile));
    }

    [Fact]
    public void Inlined_frames_name_the_symbol_they_were_inlined_into()
    {
        var builder = new ProfileBuilder("test", 0);
        var app = builder.AddLib(TestLib("app"));
        var outerSymbol = builder.InternNativeSymbol(app, 0x1000, "app::outer", functionSize: 0x80);
        Assert.Equal(outerSymbol, builder.InternNativeSymbol(app, 0x1000, "app::outer", functionSize: 0x80));
        var outer = builder.InternFrame(builder.InternFunc("app::outer", app, "src/outer.rs", 4), 0x1010, line: 5, nativeSymbol: outerSymbol);
        var inlined = builder.InternFrame(builder.InternFunc("app::helper", app, "src/helper.rs", 11), 0x1010, line: 12, inlineDepth: 1, nativeSymbol: outerSymbol);
        var plain = builder.InternFrame(builder.InternFunc("jitted"));
        builder.InternStack(outer, inlined, plain);
        builder.AddThread(builder.AddProcess(1, "p", 0), 1, "t", isMain: true);

        using var profile = Parse(builder);
        var shared = profile.RootElement.GetProperty("shared");
        var symbols = shared.GetProperty("nativeSymbols");
        Assert.Equal(["0"], Strings(symbols.GetProperty("libIndex")));
        Assert.Equal(["4096"], Strings(symbols.GetProperty("address")));
        Assert.Equal(["128"], Strings(symbols.GetProperty("functionSize")));
        Assert.Equal("app::outer", String(profile.RootElement, symbols.GetProperty("name")[0].GetInt32()));
        var frames = shared.GetProperty("frameTable");
        Assert.Equal(["0", "0", "null"], Strings(frames.GetProperty("nativeSymbol")));
        Assert.Equal(["0", "1", "0"], Strings(frames.GetProperty("inlineDepth")));
        Assert.Equal(["4112", "4112", "-1"], Strings(frames.GetProperty("address")));
        Assert.Empty(ProfileValidator.Validate(profile));
        Assert.Throws<ArgumentException>(() => builder.InternFrame(new FuncId(0), nativeSymbol: new NativeSymbolId(5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.InternNativeSymbol(app, 0x1000, "f", functionSize: -1));
    }

    [Fact]
    public void Allocations_go_out_sorted_by_time_keeping_the_order_of_equal_times()
    {
        var (builder, _) = ExampleProfiles.TwoThreads();
        using var profile = Parse(builder);
        var allocations = profile.RootElement.GetProperty("threads")[0].GetProperty("nativeAllocations");
        Assert.Equal(["1", "2", "3", "4", "5", "6", "7", "7", "8"], Strings(allocations.GetProperty("time")));
        Assert.Equal(["1000", "300", "-300", "50", "-50", "700", "64", "-64", "-999"], Strings(allocations.GetProperty("weight")));
        Assert.Equal(["100", "101", "100", "100", "101", "101", "101", "101", "100"], Strings(allocations.GetProperty("threadId")));
        Assert.Equal("bytes", allocations.GetProperty("weightType").GetString());
        Assert.Empty(ProfileValidator.Validate(profile));
    }

    [Fact]
    public void Threads_carry_string_pids_and_only_threads_with_allocations_start_visible()
    {
        var (builder, _) = ExampleProfiles.TwoThreads();
        using var profile = Parse(builder);
        var root = profile.RootElement;
        Assert.All(root.GetProperty("threads").EnumerateArray(), thread => Assert.Equal("100", thread.GetProperty("pid").GetString()));
        Assert.False(root.GetProperty("threads")[1].TryGetProperty("nativeAllocations", out _));
        Assert.Equal(["0"], Strings(root.GetProperty("meta").GetProperty("initialVisibleThreads")));
        Assert.Equal(["0"], Strings(root.GetProperty("meta").GetProperty("initialSelectedThreads")));
        var counter = root.GetProperty("counters")[0];
        Assert.Equal("100", counter.GetProperty("pid").GetString());
        Assert.Equal(0, counter.GetProperty("mainThreadIndex").GetInt32());
    }

    [Fact]
    public void Meta_declares_the_processed_format()
    {
        using var profile = Parse(new ProfileBuilder("memprof", 1234.5, intervalMs: 0.5) { Platform = "Windows" });
        var meta = profile.RootElement.GetProperty("meta");
        Assert.Equal(70, meta.GetProperty("preprocessedProfileVersion").GetInt32());
        Assert.Equal(36, meta.GetProperty("version").GetInt32());
        Assert.Equal(1234.5, meta.GetProperty("startTime").GetDouble());
        Assert.Equal(0.5, meta.GetProperty("interval").GetDouble());
        Assert.Equal("memprof", meta.GetProperty("product").GetString());
        Assert.Equal("Windows", meta.GetProperty("platform").GetString());
        Assert.True(meta.GetProperty("symbolicated").GetBoolean());
        Assert.Equal("grey", meta.GetProperty("categories")[0].GetProperty("color").GetString());
        Assert.Equal(0, meta.GetProperty("markerSchema").GetArrayLength());
    }

    [Fact]
    public void Markers_come_with_a_schema_for_their_type()
    {
        var (builder, _) = ExampleProfiles.TwoThreads();
        using var profile = Parse(builder);
        var root = profile.RootElement;
        var schema = Assert.Single(root.GetProperty("meta").GetProperty("markerSchema").EnumerateArray());
        var markers = root.GetProperty("threads")[0].GetProperty("markers");
        Assert.Equal(1, markers.GetProperty("length").GetInt32());
        var data = markers.GetProperty("data")[0];
        Assert.Equal(schema.GetProperty("name").GetString(), data.GetProperty("type").GetString());
        Assert.Equal(1764, data.GetProperty("bytes").GetInt64());
        Assert.Equal("Peak", String(root, markers.GetProperty("name")[0].GetInt32()));
        Assert.Equal("Memory", root.GetProperty("meta").GetProperty("categories")[markers.GetProperty("category")[0].GetInt32()].GetProperty("name").GetString());
        Assert.Empty(ProfileValidator.Validate(profile));
    }

    [Fact]
    public void Gzip_output_holds_the_same_json()
    {
        var builder = ExampleProfiles.LikeTheFixture();
        using var compressed = new MemoryStream();
        builder.WriteTo(compressed, gzip: true);

        compressed.Position = 0;
        using (var gunzip = new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true))
        using (var reader = new StreamReader(gunzip))
            Assert.Equal(builder.ToJson(), reader.ReadToEnd());
        compressed.Position = 0;
        Assert.Empty(ProfileValidator.Validate(compressed));
    }

    [Fact]
    public void Numbers_a_json_reader_cannot_hold_exactly_are_refused()
    {
        var builder = new ProfileBuilder("test", 0);
        var thread = builder.AddThread(builder.AddProcess(1, "p", 0), 1, "t", isMain: true);
        var func = builder.InternFunc("f");
        var stack = builder.InternStack(null, builder.InternFrame(func, address: 1UL << 53));

        builder.AddAllocation(thread, 0, 8, stack, memoryAddress: 1UL << 53, threadId: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddAllocation(thread, 0, 8, stack, (1UL << 53) + 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.InternFrame(func, address: ulong.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddAllocation(thread, double.NaN, 8, stack, 16, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddAllocation(thread, 0, long.MinValue, stack, 16, 1));
    }

    [Fact]
    public void Ids_from_another_builder_are_refused()
    {
        var other = new ProfileBuilder("other", 0);
        var foreignFrame = other.InternFrame(other.InternFunc("f"));
        var builder = new ProfileBuilder("test", 0);
        Assert.Throws<ArgumentException>(() => builder.InternStack(null, foreignFrame));
        Assert.Throws<ArgumentException>(() => builder.AddThread(new ProcessHandle(3), 1, "t", isMain: true));
    }

    [Fact]
    public void A_counter_of_a_process_without_threads_is_refused_when_written()
    {
        var builder = new ProfileBuilder("test", 0);
        builder.AddMemoryCounter(builder.AddProcess(7, "p", 0), "malloc", "bytes");
        var error = Assert.Throws<InvalidOperationException>(() => builder.ToJson());
        Assert.Contains("no thread", error.Message);
    }

    static LibInfo TestLib(string name) => new(name, $"/lib/{name}", name, $"/lib/{name}", "0000000000000000000000000000000000", null, "x86_64");
}
