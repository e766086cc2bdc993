using System.IO.Compression;
using Perftools.Profiles;
using Profiler.Core.Model;
using Profiler.Export.Pprof;

namespace Profiler.Tests.Pprof;

/// <summary>The written bytes parsed back with the generated classes, checked against the rules
/// of profile.proto and against the model they came from.</summary>
public sealed class PprofStructureTests
{
    static Profile WriteAndParse(ProfileModel model, Func<ModuleInfo, IReadOnlyList<ModuleSegment>?>? segmentsOf = null)
    {
        using var buffer = new MemoryStream();
        PprofExporter.Write(model, buffer, segmentsOf);
        var bytes = buffer.ToArray();
        Assert.True(bytes is [0x1f, 0x8b, ..], "the profile must be gzip-compressed");
        using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        return Profile.Parser.ParseFrom(gzip);
    }

    static string Str(Profile p, long index) => p.StringTable[(int)index];

    [Fact]
    public void Ids_and_references_follow_profile_proto()
    {
        var p = WriteAndParse(HeapScenario.KnownTotals().Build());

        Assert.Equal("", p.StringTable[0]);
        Assert.Equal(p.StringTable.Count, p.StringTable.Distinct().Count());
        AssertIdsUniqueAndNonZero(p.Mapping.Select(m => m.Id));
        AssertIdsUniqueAndNonZero(p.Location.Select(l => l.Id));
        AssertIdsUniqueAndNonZero(p.Function.Select(f => f.Id));
        var mappings = p.Mapping.Select(m => m.Id).ToHashSet();
        var functions = p.Function.Select(f => f.Id).ToHashSet();
        var locations = p.Location.Select(l => l.Id).ToHashSet();
        Assert.All(p.Location, l =>
        {
            Assert.True(l.MappingId == 0 || mappings.Contains(l.MappingId), $"location {l.Id} names missing mapping {l.MappingId}");
            Assert.NotEmpty(l.Line);
            Assert.All(l.Line, line => Assert.Contains(line.FunctionId, functions));
        });
        Assert.All(p.Sample, s =>
        {
            Assert.Equal(p.SampleType.Count, s.Value.Count);
            Assert.NotEmpty(s.LocationId);
            Assert.All(s.LocationId, id => Assert.Contains(id, locations));
        });
        // Every index into the string table is in range.
        var indices = p.Function.SelectMany(f => new[] { f.Name, f.SystemName, f.Filename })
            .Concat(p.Mapping.SelectMany(m => new[] { m.Filename, m.BuildId }))
            .Concat(p.Sample.SelectMany(s => s.Label.SelectMany(l => new[] { l.Key, l.Str })))
            .Concat(p.SampleType.SelectMany(t => new[] { t.Type, t.Unit }))
            .Concat(p.Comment).Append(p.DefaultSampleType);
        Assert.All(indices, i => Assert.InRange(i, 0, p.StringTable.Count - 1));
    }

    static void AssertIdsUniqueAndNonZero(IEnumerable<ulong> ids)
    {
        var list = ids.ToList();
        Assert.DoesNotContain(0UL, list);
        Assert.Equal(list.Count, list.Distinct().Count());
    }

    [Fact]
    public void Header_fields_describe_a_heap_profile_of_the_recording()
    {
        var model = HeapScenario.KnownTotals().Build(samplingRate: 65536);
        var p = WriteAndParse(model);

        Assert.Equal(["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"],
            p.SampleType.Select(t => $"{Str(p, t.Type)}/{Str(p, t.Unit)}"));
        Assert.Equal("inuse_space", Str(p, p.DefaultSampleType));
        Assert.Equal("space/bytes", $"{Str(p, p.PeriodType.Type)}/{Str(p, p.PeriodType.Unit)}");
        Assert.Equal(65536, p.Period);
        var start = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);
        Assert.Equal(start.ToUnixTimeMilliseconds() * 1_000_000 + 123_400, p.TimeNanos);
        Assert.Equal(model.Info.DurationNanos, p.DurationNanos);
        Assert.Equal("/usr/bin/app --input 'a file'", Str(p, p.Comment[0]));
    }

    [Fact]
    public void Allocator_frames_stay_in_the_stacks_and_are_named_in_drop_frames()
    {
        var p = WriteAndParse(HeapScenario.KnownTotals().Build());
        Assert.Equal("malloc", Str(p, p.DropFrames));
        var malloc = p.Function.Single(f => Str(p, f.Name) == "malloc").Id;
        Assert.Contains(p.Sample, s => p.Location.Single(l => l.Id == s.LocationId[0]).Line[0].FunctionId == malloc);
    }

    [Fact]
    public void Drop_frames_lists_the_frames_below_each_site_quoted_as_regex_literals()
    {
        var s = new HeapScenario();
        var allocate = new TestFrame("<alloc::alloc::Global as core::alloc::Allocator>::allocate", s.App, 0x1500);
        var clone = new TestFrame("<alloc::string::String as core::clone::Clone>::clone", s.App, 0x1600);
        s.Alloc("app::run", s.Builder.Stack(s.Main, s.In("app::run", 0x1200), clone, allocate, s.Malloc), 10);
        s.Alloc("mallocx_wrapper", s.Builder.Stack(s.Main, s.In("mallocx_wrapper", 0x1300), s.Malloc), 10);
        string pattern = PprofExporter.DropFramesPattern(s.Build());

        Assert.Equal(["<alloc::alloc::Global as core::alloc::Allocator>::allocate", "<alloc::string::String as core::clone::Clone>::clone",
            "malloc"], pattern.Split('|').Select(p => System.Text.RegularExpressions.Regex.Unescape(p)));
        var regex = new System.Text.RegularExpressions.Regex($"^({pattern})$");
        Assert.Matches(regex, "<alloc::alloc::Global as core::alloc::Allocator>::allocate");
        Assert.DoesNotMatch(regex, "app::run");
        Assert.DoesNotMatch(regex, "mallocx_wrapper");
        // Asked for the innermost frame, only the allocator's frames are dropped.
        Assert.Equal("<alloc::alloc::Global as core::alloc::Allocator>::allocate|malloc",
            PprofExporter.DropFramesPattern(s.Build(), Core.Analysis.SiteMode.Innermost));
    }

    [Fact]
    public void Samples_are_labelled_with_pid_and_names()
    {
        var s = new HeapScenario();
        s.Builder.Process(7, "server", (7, "server"), (8, "io worker"));
        var stack = s.Builder.Stack(s.Main);
        s.Alloc("main", stack, 10, pid: 7, tid: 8);
        var p = WriteAndParse(s.Build());
        var sample = Assert.Single(p.Sample);
        var labels = sample.Label.ToDictionary(l => Str(p, l.Key));
        Assert.Equal(7, labels["pid"].Num);
        Assert.Equal("server", Str(p, labels["comm"].Str));
        Assert.Equal("io worker", Str(p, labels["thread_comm"].Str));
        Assert.Equal([1L, 10, 1, 10], sample.Value);
    }

    [Fact]
    public void Known_segments_give_page_aligned_mappings_that_hold_their_locations()
    {
        var scenario = HeapScenario.KnownTotals();
        var appText = new ModuleSegment(0x1010, 0x5f0, 0x1010);
        var libcText = new ModuleSegment(0x28000, 0x150000, 0x28000);
        var p = WriteAndParse(scenario.Build(), m => m.Path switch
        {
            HeapScenario.AppPath => [new ModuleSegment(0, 0x800, 0), appText, new ModuleSegment(0x3de8, 0x258, 0x2de8)],
            HeapScenario.LibcPath => [libcText],
            _ => null,
        });

        Assert.Equal(2, p.Mapping.Count);
        var app = p.Mapping[0];
        Assert.Equal(HeapScenario.AppPath, Str(p, app.Filename));
        Assert.Equal((0x1000UL, 0x2000UL, 0x1000UL), (app.MemoryStart, app.MemoryLimit, app.FileOffset));
        var libc = p.Mapping[1];
        Assert.Equal((0x28000UL, 0x178000UL, 0x28000UL), (libc.MemoryStart, libc.MemoryLimit, libc.FileOffset));
        Assert.All(p.Location, l =>
        {
            var m = p.Mapping.Single(m => m.Id == l.MappingId);
            Assert.InRange(l.Address, m.MemoryStart, m.MemoryLimit - 1);
        });
        // Callers carry return address - 1; the leaf its own address.
        string NameAt(ulong address) => Str(p, p.Function.Single(f => f.Id == p.Location.Single(l => l.Address == address).Line[0].FunctionId).Name);
        Assert.Equal("main", NameAt(0x10ff));
        Assert.Equal("parse_input", NameAt(0x1200));
        Assert.Equal("build_index", NameAt(0x12ff));
    }
}
