using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Profiler.Firefox;

namespace Profiler.Tests.Firefox;

public class ProfileValidatorTests
{
    [Fact]
    public void The_fixture_passes()
    {
        using var profile = ProfileJson.Load(FirefoxTestFiles.ExampleProfile);
        Assert.Empty(ProfileValidator.Validate(profile));
    }

    [Fact]
    public void The_fixture_passes_gzipped_from_a_stream_that_cannot_seek()
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(File.ReadAllBytes(FirefoxTestFiles.ExampleProfile));
        using var forwardOnly = new ForwardOnlyStream(compressed.ToArray());
        Assert.Empty(ProfileValidator.Validate(forwardOnly));
    }

    [Fact]
    public void Text_that_is_not_json_is_a_problem()
    {
        using var text = new MemoryStream(Encoding.UTF8.GetBytes("meta: no"));
        Assert.Contains("not a JSON profile", Assert.Single(ProfileValidator.Validate(text)));
    }

    public static TheoryData<string, string> Breakages() => new()
    {
        { "shortStackColumn", "shared.stackTable.frame: 7 values, but length is 8" },
        { "stackFrameOutOfRange", "shared.stackTable.frame: 1 value(s) not an index into frameTable" },
        { "prefixBeforeFirstRow", "shared.stackTable.prefixOffset: 1 value(s) not 0 or an offset back" },
        { "frameFuncOutOfRange", "shared.frameTable.func: 1 value(s) not an index into funcTable" },
        { "funcResourceOutOfRange", "shared.funcTable.resource: 1 value(s) not an index into resourceTable" },
        { "funcSourceOutOfRange", "shared.funcTable.source: 1 value(s) not an index into sources" },
        { "funcNameOutOfRange", "shared.funcTable.name: 1 value(s) not an index into stringArray" },
        { "resourceNameOutOfRange", "shared.resourceTable.name: 1 value(s) not an index into stringArray" },
        { "frameLibOutOfRange", "shared.frameTable.lib: 1 value(s) not an index into libs" },
        { "unsortedAllocations", "threads[0].nativeAllocations.time: 1 value(s) not in ascending order" },
        { "addressTooLarge", "threads[0].nativeAllocations.memoryAddress: 1 value(s) not an integer" },
        { "addressWithoutThreadId", "threads[0].nativeAllocations.threadId: missing beside memoryAddress" },
        { "numericPid", "threads[0].pid: 4242 is not a string" },
        { "counterWithoutDisplay", "counters[0].display: missing" },
        { "counterWithoutTooltipRows", "counters[0].display.tooltipRows: missing" },
        { "counterOfUnknownPid", "counters[0].pid: \"1\" matches no thread's pid" },
        { "counterThreadOutOfRange", "counters[0].mainThreadIndex: 3 is not a thread index" },
        { "counterChangeWithoutCalls", "counters[0].samples.number: 1 value(s) not at least 1 where count is not 0; first at [2]" },
        { "olderVersion", "meta.preprocessedProfileVersion: 69 is not 70" },
        { "noGeckoVersion", "meta.version: missing" },
        { "noGreyCategory", "meta.categories: none is grey" },
        { "frameCategoryOutOfRange", "shared.frameTable.category: 1 value(s) not an index into meta.categories" },
        { "markerWithoutSchema", "threads[0].markers.data: 1 value(s) not null or an object whose type has a meta.markerSchema entry" },
        { "selectedThreadOutOfRange", "meta.initialSelectedThreads: [1] is not an array of thread indexes" },
        { "noShared", "shared: missing" },
    };

    [Theory]
    [MemberData(nameof(Breakages))]
    public void A_broken_fixture_yields_the_problem(string breakage, string expectedProblem)
    {
        var profile = JsonNode.Parse(File.ReadAllText(FirefoxTestFiles.ExampleProfile))!.AsObject();
        Break(profile, breakage);
        using var document = JsonDocument.Parse(profile.ToJsonString());

        var problems = ProfileValidator.Validate(document);

        Assert.Contains(problems, problem => problem.StartsWith(expectedProblem, StringComparison.Ordinal));
    }

    static void Break(JsonObject profile, string breakage)
    {
        var meta = profile["meta"]!.AsObject();
        var shared = profile["shared"]!.AsObject();
        var thread = profile["threads"]![0]!.AsObject();
        var allocations = thread["nativeAllocations"]!.AsObject();
        var counter = profile["counters"]![0]!.AsObject();
        switch (breakage)
        {
            case "shortStackColumn": shared["stackTable"]!["frame"]!.AsArray().RemoveAt(0); break;
            case "stackFrameOutOfRange": shared["stackTable"]!["frame"]![2] = 7; break;
            case "prefixBeforeFirstRow": shared["stackTable"]!["prefixOffset"]![1] = 2; break;
            case "frameFuncOutOfRange": shared["frameTable"]!["func"]![0] = 6; break;
            case "funcResourceOutOfRange": shared["funcTable"]!["resource"]![0] = 2; break;
            case "funcSourceOutOfRange": shared["funcTable"]!["source"]![4] = 4; break;
            case "funcNameOutOfRange": shared["funcTable"]!["name"]![0] = 12; break;
            case "resourceNameOutOfRange": shared["resourceTable"]!["name"]![1] = -1; break;
            case "frameLibOutOfRange": shared["frameTable"]!["lib"]![0] = 2; break;
            case "unsortedAllocations": allocations["time"]![7] = 6.5; break;
            case "addressTooLarge": allocations["memoryAddress"]![0] = (1L << 53) + 2; break;
            case "addressWithoutThreadId": allocations.Remove("threadId"); break;
            case "numericPid": thread["pid"] = 4242; break;
            case "counterWithoutDisplay": counter.Remove("display"); break;
            case "counterWithoutTooltipRows": counter["display"]!.AsObject().Remove("tooltipRows"); break;
            case "counterOfUnknownPid": counter["pid"] = "1"; break;
            case "counterThreadOutOfRange": counter["mainThreadIndex"] = 3; break;
            case "counterChangeWithoutCalls": counter["samples"]!["number"]![2] = 0; break;
            case "olderVersion": meta["preprocessedProfileVersion"] = 69; break;
            case "noGeckoVersion": meta.Remove("version"); break;
            case "noGreyCategory": meta["categories"]![0]!["color"] = "blue"; break;
            case "frameCategoryOutOfRange": shared["frameTable"]!["category"]![0] = 2; break;
            case "markerWithoutSchema": AddMarker(thread, new JsonObject { ["type"] = "Unknown" }); break;
            case "selectedThreadOutOfRange": meta["initialSelectedThreads"] = new JsonArray(1); break;
            case "noShared": profile.Remove("shared"); break;
            default: throw new ArgumentException(breakage);
        }
    }

    [Fact]
    public void Names_like_a_forbidden_pattern_are_problems_only_when_asked_for()
    {
        var builder = ExampleProfiles.LikeTheFixture();
        var preload = builder.AddLib(new LibInfo("libmemprof_preload.so", "/opt/memprof/libmemprof_preload.so", "libmemprof_preload.so",
            "/opt/memprof/libmemprof_preload.so", "", null, "x86_64"));
        // The preload library's malloc: a name of the program's, in memprof's library.
        var malloc = builder.InternFrame(builder.InternFunc("malloc", preload), 0x1000);
        var sampled = builder.InternFrame(builder.InternFunc("memprof_preload_sampled_alloc", preload), 0x1100);
        var process = builder.AddProcess(7, "other", 0);
        builder.AddAllocation(builder.AddThread(process, 7, "other", isMain: true), 1, 10, builder.InternStack(malloc, sampled), 0x10, 7);
        using var profile = ProfileJson.Parse(builder);
        var rules = new ValidationRules { ForbiddenNames = ["memprof_*", "libmemprof*"] };

        var problems = ProfileValidator.Validate(profile, rules);

        Assert.Equal([
            "shared.funcTable.name: 1 function(s) named like a forbidden pattern; first at [7] = \"memprof_preload_sampled_alloc\" (memprof_*)",
            "shared.resourceTable.name: 1 resource(s) named like a forbidden pattern; first at [2] = \"libmemprof_preload.so\" (libmemprof*)",
            "libs[].name: 1 library(s) named like a forbidden pattern; first at [2] = \"libmemprof_preload.so\" (libmemprof*)",
            "libs[].path: 1 library(s) named like a forbidden pattern; first at [2] = \"/opt/memprof/libmemprof_preload.so\" (libmemprof*)",
            "libs[].debugName: 1 library(s) named like a forbidden pattern; first at [2] = \"libmemprof_preload.so\" (libmemprof*)",
            "libs[].debugPath: 1 library(s) named like a forbidden pattern; first at [2] = \"/opt/memprof/libmemprof_preload.so\" (libmemprof*)"],
            problems);
        Assert.Empty(ProfileValidator.Validate(profile));
    }

    [Theory]
    [InlineData("memprof_preload_resize.constprop.0", "memprof_*")]
    [InlineData("/usr/lib/memprof/libmemprof_preload.so", "libmemprof*")]
    [InlineData(@"C:\memprof\libmemprof_preload.so", "libmemprof*")]
    [InlineData("app::memprof_like", null)]
    [InlineData("/opt/memprof/bin/app", null)]
    [InlineData("libmemprof", "libmemprof*")]
    public void A_pattern_matches_a_whole_name_or_a_paths_last_part(string name, string? pattern)
    {
        var rules = new ValidationRules { ForbiddenNames = ["memprof_*", "libmemprof*"] };
        Assert.Equal(pattern, rules.ForbiddenPatternOf(name));
    }

    [Fact]
    public void Deallocation_views_that_disagree_are_a_problem_when_asked_for()
    {
        var (builder, _) = ExampleProfiles.TwoThreads();
        using var profile = ProfileJson.Parse(builder);
        var rules = new ValidationRules { DeallocationViewsAgree = true };

        Assert.Equal(["threads[0].nativeAllocations: Deallocation Sites sum to 1413 bytes but Deallocated Memory to 414 " +
            "(0 free(s) without a stack, 1 with no earlier allocation at their address, 0 of an allocation without a stack)"],
            ProfileValidator.Validate(profile, rules));
        Assert.Empty(ProfileValidator.Validate(profile));
        using var fixture = ProfileJson.Load(FirefoxTestFiles.ExampleProfile);
        Assert.Empty(ProfileValidator.Validate(fixture, rules));
    }

    static void AddMarker(JsonObject thread, JsonObject data)
    {
        var markers = thread["markers"]!.AsObject();
        markers["data"]!.AsArray().Add(data);
        markers["name"]!.AsArray().Add(0);
        markers["startTime"]!.AsArray().Add(1);
        markers["endTime"]!.AsArray().Add(null);
        markers["phase"]!.AsArray().Add(0);
        markers["category"]!.AsArray().Add(0);
        markers["length"] = 1;
    }

    sealed class ForwardOnlyStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
