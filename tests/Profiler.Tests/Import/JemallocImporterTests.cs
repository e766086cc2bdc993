using Profiler.Collectors.JemallocImport;
using Profiler.Core;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Sampling;
using static Profiler.Tests.Import.ImportedRecording;

namespace Profiler.Tests.Import;

public sealed class JemallocImporterTests
{
    const ulong Period = 524288;

    /// <summary>Backtraces of every kind of size: tiny and large objects, averages with and without
    /// a remainder, one object, and sizes far above the period (where unsampling changes little).</summary>
    static readonly (string Stack, ulong Objects, ulong Bytes)[] Mixed =
    [
        ("0x401010 0x401020 0x401030", 217, 233_711_793),
        ("0x401010 0x401040", 1, 8),
        ("0x401010 0x401050", 12, 6_496),
        ("0x401010 0x401060", 3, 100),
        ("0x401010 0x401070", 5, 5 * 64 * 1024),
        ("0x401010 0x401080", 2, 2 * 64 * 1024 * 1024 + 1),
        ("0x401010 0x7f0000000100", 40_000, 40_000 * 24),
    ];

    [Fact]
    public void Retained_bytes_per_backtrace_are_jeprofs_unsampled_bytes()
    {
        var r = ToRecording(Parsed(Dump(Period, Mixed)));
        var live = Live(r);
        Assert.Equal(Mixed.Length, live.Count);
        foreach (var (stack, objects, bytes) in Mixed)
        {
            var expected = Jeprof(objects, bytes, Period);
            var got = live[stack];
            Assert.True(Math.Abs(got.Bytes - expected.Bytes) <= 0.5 + 1e-6 * expected.Bytes, $"{stack}: {got.Bytes} B, jeprof {expected.Bytes:F1}");
            // Objects: weight/size per event; sizes are rounded to the byte, so within a part per thousand.
            Assert.True(Math.Abs(got.Objects - expected.Objects) <= 1e-3 * expected.Objects, $"{stack}: {got.Objects:F1} objects, jeprof {expected.Objects:F1}");
            Assert.Equal((int)objects, got.Events);
        }
    }

    [Fact]
    public void Each_event_is_what_a_poisson_sample_of_its_size_weighs()
    {
        // The importer spreads a backtrace's scaled bytes over its objects; each one must still be
        // what a pure Poisson sample of that size weighs at the dump's period (jemalloc samples
        // large objects too, so memprof's exact-large-block rule does not apply).
        var r = ToRecording(Parsed(Dump(Period, Mixed)));
        var ev = r.Events;
        int checkedEvents = 0;
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] != EventKind.Alloc) continue;
            long expected = (long)Math.Round(ev.Size[i] / PoissonSampling.PoissonProbability(ev.Size[i], Period));
            Assert.True(Math.Abs((long)ev.Weight[i] - expected) <= 2, $"event {i}: size {ev.Size[i]} weighs {ev.Weight[i]}, PoissonSampling says {expected}");
            checkedEvents++;
        }
        Assert.Equal(Mixed.Sum(m => (int)m.Objects), checkedEvents);
    }

    [Fact]
    public void The_heap_analysis_retains_what_jeprof_reports_in_total()
    {
        var r = ToRecording(Parsed(Dump(Period, Mixed)));
        var model = ProfileModelBuilder.Build(r, new NamedByAddress());
        var heap = HeapAnalysis.Compute(model);
        var metrics = HeapMetrics.Compute(model, heap);
        double jeprofTotal = Mixed.Sum(m => Jeprof(m.Objects, m.Bytes, Period).Bytes);
        Assert.True(Math.Abs(metrics.Total.RetainedBytes - jeprofTotal) <= 0.5 * Mixed.Length, $"{metrics.Total.RetainedBytes} vs jeprof {jeprofTotal:F1}");
        Assert.Equal(0, heap.Totals.UnmatchedFrees);
        Assert.Equal(Period, model.Info.SamplingRateBytes);
    }

    [Fact]
    public void Header_modules_and_threads_describe_the_process()
    {
        var p = HeapProfileParserTests.Parse(HeapProfileParserTests.TwoThreads);
        var r = ToRecording(new HeapDump("app.4242.0.f.heap", p, FirstDump));
        Assert.Equal(4242u, r.Header.TargetPid);
        Assert.Equal(JemallocImporter.Collector, r.Header.Collector);
        Assert.Equal(Period, r.Header.SamplingRateBytes);
        Assert.Equal(["/opt/app/bin/my program"], r.Header.Command);
        Assert.Equal(FirstDump.ToUnixTimeMilliseconds() * 1_000_000, r.Header.StartUnixNanos);
        Assert.Equal(["/opt/app/bin/my program", "/usr/lib/x86_64-linux-gnu/libc.so.6"], r.Modules.Select(m => m.Path));
        Assert.All(r.Modules, m => Assert.Equal(4242u, m.Pid));
        Assert.Equal(0x35000UL, r.Modules[0].FileOffset);
        // jemalloc's thread numbers, named as the dump names them.
        Assert.Equal(["0:jemalloc thread 0", "3:worker"], r.Threads.Select(t => $"{t.Tid}:{t.Name}").Order());
        // The 12 objects of the third backtrace split 9 : 3 between threads 0 and 3, as its tN lines say.
        ulong third = r.Stacks.Single(s => s.Value.Addresses.Count == 3 && s.Value.Addresses[2] == 0).Key;
        var tids = Enumerable.Range(0, r.Events.Count).Where(i => r.Events.StackId[i] == third).Select(i => r.Events.Tid[i]).ToList();
        Assert.Equal(9, tids.Count(t => t == 0));
        Assert.Equal(3, tids.Count(t => t == 3));
        Assert.NotNull(r.Footer);
        Assert.Empty(r.Warnings);
    }

    [Fact]
    public void Several_dumps_become_a_timeline_per_backtrace()
    {
        const string a = "0x401010 0x401020", b = "0x401010 0x401030", c = "0x401010 0x401040";
        var dumps = new (string Stack, ulong Objects, ulong Bytes)[][]
        {
            [(a, 10, 10 * 4096), (b, 5, 5 * 1_000_000)],
            [(a, 15, 15 * 4096), (c, 3, 3 * 100)],              // a grows, b is gone, c is new
            [(a, 4, 4 * 4096), (c, 3, 3 * 100)],                // a shrinks, c unchanged
            [(a, 4, 4 * 5000), (c, 3, 3 * 100)],                // a's objects change size
        };
        double[] seconds = [0, 2, 2, 7.5];
        var r = ToRecording(dumps.Select((d, i) => Parsed(Dump(Period, d), seconds[i], $"app.4242.{i}.i{i}.heap")).ToArray());
        long[] times = [0, 2_000_000_000, 2_001_000_000, 7_500_000_000];
        Assert.Equal(times, r.Events.TimeNanos.Take(r.Events.Count).Distinct());
        for (int k = 0; k < dumps.Length; k++)
        {
            var live = Live(r, times[k]);
            Assert.Equal(dumps[k].Select(d => d.Stack).Order(), live.Keys.Order());
            foreach (var (stack, objects, bytes) in dumps[k])
            {
                var expected = Jeprof(objects, bytes, Period).Bytes;
                Assert.True(Math.Abs(live[stack].Bytes - expected) <= 0.5 + 1e-9 * expected, $"dump {k}, {stack}: {live[stack].Bytes} vs jeprof {expected:F1}");
            }
        }
        // Growth and shrinkage are allocations and frees of exactly the difference in objects when
        // the average size stays; a changed size replaces the backtrace's objects.
        Assert.Equal([10, 5, 0, 4], AllocationsAt(r, a, times));
        Assert.Equal([0, 0, 11, 4], FreesAt(r, a, times));
        Assert.Equal([5, 0, 0, 0], AllocationsAt(r, b, times));
        Assert.Equal([0, 5, 0, 0], FreesAt(r, b, times));
        Assert.Equal([0, 3, 0, 0], AllocationsAt(r, c, times));
        // At one instant the frees come before the allocations, so the heap never looks larger
        // than what either dump holds.
        for (int i = 1; i < r.Events.Count; i++)
            if (r.Events.TimeNanos[i] == r.Events.TimeNanos[i - 1])
                Assert.False(r.Events.Kind[i - 1] == EventKind.Alloc && r.Events.Kind[i] == EventKind.Free, $"event {i}: a free after an allocation at one time");
    }

    [Fact]
    public void Bytes_without_objects_are_kept_unscaled_as_jeprof_does()
    {
        var r = ToRecording(Parsed(Dump(Period, ("0x401010", 0, 700), ("0x401020", 0, 0))));
        var live = Live(r);
        Assert.Equal((700L, 1.0, 1), live["0x401010"]);
        Assert.Single(live);
    }

    [Fact]
    public void Implausible_counts_are_refused_with_their_line()
    {
        var e = Assert.Throws<ProfilerException>(() => ToRecording(Parsed(Dump(Period, ("0x401010", 10, 80), ("0x401020", 200_000_000, 1UL << 40)))));
        Assert.Equal(ExitCode.CorruptRecording, e.ExitCode);
        Assert.StartsWith("app.4242.0.i0.heap, line 6: more than 100,000,000 live objects", e.Message);
    }

    static int[] AllocationsAt(Core.Recording.RawRecording r, string stack, long[] times) => CountAt(r, stack, times, EventKind.Alloc);
    static int[] FreesAt(Core.Recording.RawRecording r, string stack, long[] times) => CountAt(r, stack, times, EventKind.Free);

    /// <summary>Events of one kind per dump time for one backtrace (a free belongs to the backtrace
    /// of the allocation at its address).</summary>
    static int[] CountAt(Core.Recording.RawRecording r, string stack, long[] times, EventKind kind)
    {
        var ev = r.Events;
        var stackOf = new Dictionary<ulong, ulong>();
        var counts = new int[times.Length];
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] == EventKind.Alloc) stackOf[ev.Address[i]] = ev.StackId[i];
            ulong id = stackOf[ev.Address[i]];
            if (ev.Kind[i] == kind && string.Join(' ', r.Stacks[id].Addresses.Select(x => $"0x{x:x}")) == stack)
                counts[Array.IndexOf(times, ev.TimeNanos[i])]++;
        }
        return counts;
    }

    /// <summary>Names every address after itself, so each backtrace's leaf is its own site.</summary>
    sealed class NamedByAddress : IFrameResolver
    {
        public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset) =>
            [new ResolvedFrame($"f_{fileOffset:x}", module.Path, module.BuildId, fileOffset, null, null)];
    }
}
