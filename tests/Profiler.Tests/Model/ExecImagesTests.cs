using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Model;

/// <summary>An exec replaces the process's image: blocks live in the old one are released at the
/// exec (not leaked), and the counters, which restart in the new image, cover every image.</summary>
public sealed class ExecImagesTests
{
    const uint Pid = 7;

    sealed class NoSymbols : IFrameResolver
    {
        public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset) => [];
    }

    static RawRecording Recording(IEnumerable<(EventKind Kind, long Time, ulong Address, ulong Size)> events, long[] execs,
        IEnumerable<HeapCounters>? counters = null, bool launched = true, long exitTime = 1000)
    {
        var columns = new EventColumns();
        foreach (var (kind, time, address, size) in events)
            columns.Add(new RawEvent(kind, time, Pid, Pid, address, kind == EventKind.Alloc ? size : 0, kind == EventKind.Alloc ? size : 0, 0,
                kind == EventKind.Alloc ? AllocFunction.Malloc : AllocFunction.FreeFunction));
        columns.TrimExcess();
        return new RawRecording
        {
            Header = new Header { TargetPid = Pid, Launched = launched, SamplingRateBytes = 1, Command = { "prog" } },
            Modules = [], Threads = [], Stacks = new RawStackTable(), Events = columns,
            Exits = [new ProcessExit { Pid = Pid, TimeNanos = exitTime }], Warnings = [],
            Execs = execs.Select(t => new ProcessExec { Pid = Pid, TimeNanos = t, Name = "prog" }).ToList(),
            Counters = counters?.ToList() ?? [],
        };
    }

    // The launcher execs the command at 5; the command execs itself again at 40.
    static readonly (EventKind, long, ulong, ulong)[] TwoImages =
    [
        (EventKind.Alloc, 2, 0x900, 999), // the launcher's, before its exec: not the command's
        (EventKind.Alloc, 10, 0xa0, 100),
        (EventKind.Alloc, 20, 0xb0, 50),
        (EventKind.Free, 30, 0xa0, 0),
        (EventKind.Alloc, 50, 0xb0, 70), // the new image reuses the old block's address
        (EventKind.Alloc, 60, 0xc0, 30),
        (EventKind.Free, 70, 0xc0, 0),
    ];

    [Fact]
    public void Blocks_live_at_an_exec_are_released_there()
    {
        var model = ProfileModelBuilder.Build(Recording(TwoImages, [5, 40]), new NoSymbols());
        var ev = model.Events;
        int release = Array.IndexOf(ev.Function, AllocFunction.ExecRelease);
        Assert.True(release >= 0);
        Assert.Equal(1, ev.Function.Count(f => f == AllocFunction.ExecRelease));
        Assert.Equal((EventKind.Free, 40L, 0xb0UL, 50UL), (ev.Kind[release], ev.TimeNanos[release], ev.Address[release], ev.Weight[release]));
        Assert.Equal([10L, 20, 30, 40, 50, 60, 70], ev.TimeNanos);

        var heap = HeapAnalysis.Compute(model);
        Assert.Equal(release, heap.FreedBy[Array.IndexOf(ev.TimeNanos, 20L)]);
        // Only the new image's 70-byte block is live at the end: leaked, the old one is not.
        Assert.Equal((70L, 1L, 0L, 0L), (heap.Totals.LiveBytes, heap.Totals.LiveBlocks, heap.Totals.ReplacedLive, heap.Totals.UnmatchedFrees));
        Assert.Equal(150L, heap.Totals.PeakBytes);

        var timeline = HeapTimelines.Compute(model, heap).Overall;
        Assert.Equal(70L, timeline.FinalLiveBytes);
        Assert.Equal((150L, 20L), (timeline.PeakBytes, timeline.PeakTimeNanos));

        var report = new StringWriter();
        Profiler.Export.TextReport.Write(model, new Profiler.Export.TextReportOptions(), report);
        var lines = report.ToString().Split('\n');
        Assert.Contains("1 block (50 B) still live when their process exec'd were released by the exec", lines.Single(l => l.StartsWith("Exec:")));
        Assert.Contains("70 B", lines.Single(l => l.StartsWith("Leaked:")));
    }

    [Fact]
    public void Counters_across_an_exec_of_an_image_that_allocated_are_not_called_exact()
    {
        HeapCounters[] counters = [Counters(100, 3, 150, 1, 100, 50, 150, 20), Counters(200, 2, 100, 1, 30, 70, 100, 60)];
        var replaced = ProfileModelBuilder.Build(Recording(TwoImages, [5, 40], counters), new NoSymbols());
        Assert.Equal([new ReplacedImage(Pid, 40)], replaced.ReplacedImages);
        var coverage = CounterCoverage.Of(replaced);
        Assert.False(coverage.Complete);
        Assert.Contains($"an exec replaced an image that had allocated (pid {Pid} at 0.0 ms): its calls after the last read", coverage.Qualifier);

        // memprof's launcher exec'ing the command replaces nothing of the command's.
        var launched = ProfileModelBuilder.Build(Recording(TwoImages, [5], counters), new NoSymbols());
        Assert.Empty(launched.ReplacedImages);
        Assert.True(CounterCoverage.Of(launched).Complete);
    }

    [Fact]
    public void The_launchers_exec_releases_nothing()
    {
        var model = ProfileModelBuilder.Build(Recording(TwoImages, [5]), new NoSymbols());
        Assert.DoesNotContain(AllocFunction.ExecRelease, model.Events.Function);
        var heap = HeapAnalysis.Compute(model);
        // Without the second exec the old block at 0xb0 is replaced by the new allocation there.
        Assert.Equal(1L, heap.Totals.ReplacedLive);
        var report = new StringWriter();
        Profiler.Export.TextReport.Write(model, new Profiler.Export.TextReportOptions(), report);
        Assert.DoesNotContain("Exec:", report.ToString());
    }

    [Fact]
    public void An_attached_process_exec_releases_what_was_live()
    {
        var model = ProfileModelBuilder.Build(Recording(TwoImages.Skip(1), [40], launched: false), new NoSymbols());
        var heap = HeapAnalysis.Compute(model);
        Assert.Equal(1, model.Events.Function.Count(f => f == AllocFunction.ExecRelease));
        Assert.Equal(70L, heap.Totals.LiveBytes);
    }

    static HeapCounters Counters(long time, ulong allocations, ulong bytes, ulong frees, ulong freed, long live, long peak, long peakTime) =>
        new()
        {
            Pid = Pid, TimeNanos = time, Allocations = allocations, AllocatedBytes = bytes, Frees = frees, FreedBytes = freed,
            LiveBytesKnown = true, LiveBytes = live, PeakLiveBytes = peak, PeakTimeNanos = peakTime,
        };

    [Fact]
    public void Counters_restarting_in_a_new_image_are_carried_over()
    {
        var model = ProfileModelBuilder.Build(Recording([], [5, 150],
        [
            Counters(3, 2, 64, 0, 0, 64, 64, 3), // the launcher's, before it exec'd the command
            Counters(100, 10, 1000, 4, 400, 600, 700, 50),
            Counters(200, 3, 300, 1, 100, 200, 250, 180),
            Counters(300, 5, 500, 2, 150, 350, 900, 260),
        ]), new NoSymbols());
        Assert.Equal(
        [
            new HeapCounterSample(Pid, 100, 10, 1000, 4, 400, true, 600, 700, 50),
            new HeapCounterSample(Pid, 200, 13, 1300, 5, 500, true, 200, 700, 50),
            new HeapCounterSample(Pid, 300, 15, 1500, 6, 550, true, 350, 900, 260),
        ], model.Counters);

        var timeline = HeapTimelines.Compute(model, HeapAnalysis.Compute(model)).Overall;
        Assert.Equal(HeapSource.Counters, timeline.Source);
        Assert.Equal(new ExactHeapCounts(15, 1500, 6, 550), timeline.Exact);
        Assert.Equal(350L, timeline.FinalLiveBytes);
        Assert.Equal((900L, 260L), (timeline.PeakBytes, timeline.PeakTimeNanos));
    }

    [Fact]
    public void Counters_that_keep_counting_across_an_exec_are_left_alone()
    {
        var model = ProfileModelBuilder.Build(Recording([], [5, 150],
        [
            Counters(100, 10, 1000, 4, 400, 600, 700, 50),
            Counters(200, 12, 1300, 5, 500, 800, 800, 180),
        ]), new NoSymbols());
        Assert.Equal((12UL, 1300UL), (model.Counters[^1].Allocations, model.Counters[^1].AllocatedBytes));
    }
}
