using Profiler.Cli.Commands;
using Profiler.Core;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Profiler.Export;
using Profiler.Export.Checks;
using Profiler.Export.Pprof;

namespace Profiler.Tests.Export;

/// <summary>
/// `report`, `check`, `diff` and the pprof export stream a recording's events from its file:
/// what they allocate follows the distinct stacks and the live blocks, not the events. Measured
/// deterministically, as the bytes this thread allocates (a per-event table of a million more
/// events is tens of megabytes), and checked to give what the model with an event table gives.
/// </summary>
public sealed class StreamingMemoryTests : IDisposable
{
    const uint Pid = 42, Child = 43;
    readonly string _dir = Directory.CreateTempSubdirectory("memprof-streaming-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A launched command's recording: the launcher's own events before its exec, then
    /// <paramref name="pairs"/> allocations of 64 stacks, each freed a few events later (some by
    /// realloc), sampled weights, a hundred blocks leaked, a free lost (its address reused) and
    /// a free of a block never recorded; a child that execs with blocks live.</summary>
    string Write(string name, int pairs)
    {
        string path = Path.Combine(_dir, name);
        using var writer = RecordingWriter.Create(path, new Header
        {
            TargetPid = Pid, Collector = "test", Mode = "test-mode", SamplingRateBytes = 4096, Launched = true, Command = { "app" },
        });
        for (ulong id = 1; id <= 64; id++)
        {
            var stack = new Stack { Id = id };
            stack.Addresses.Add([0x1000 + id * 0x10, 0x9000 + id % 4 * 0x10, 0xa000]);
            writer.WriteStack(stack);
        }
        long t = 1_000;
        writer.WriteEvent(new RawEvent(EventKind.Alloc, t, Pid, Pid, 0x5000, 64, 4096, 1, AllocFunction.Malloc)); // the launcher's
        writer.WriteProcessExec(new ProcessExec { Pid = Pid, TimeNanos = t += 1_000, Name = "app" });
        writer.WriteEvent(new RawEvent(EventKind.Free, t += 10, Pid, Pid, 0xdead_0000, 0, 0, 0, AllocFunction.FreeFunction));
        var pending = new Queue<ulong>();
        for (int i = 0; i < pairs; i++)
        {
            t += 100;
            ulong address = 0x10_0000 + (ulong)(i % 4096) * 0x40;
            ulong size = 16 + (ulong)(i % 7) * 24;
            ulong stack = 1 + (ulong)(i % 64);
            if (i % 10 == 3 && pending.Count > 0)
            {
                // A realloc: the free of the old block and the allocation of the new one, same time.
                ulong old = pending.Dequeue();
                writer.WriteEvent(new RawEvent(EventKind.Free, t, Pid, Pid, old, 0, 0, stack, AllocFunction.Realloc));
            }
            writer.WriteEvent(new RawEvent(EventKind.Alloc, t, Pid, Pid, address, size, Math.Max(size, 4096), stack,
                i % 10 == 3 ? AllocFunction.Realloc : AllocFunction.Malloc));
            pending.Enqueue(address);
            if (pending.Count > 8)
                writer.WriteEvent(new RawEvent(EventKind.Free, t + 50, Pid, Pid, pending.Dequeue(), 0, 0, stack, AllocFunction.FreeFunction));
        }
        for (int k = 0; k < 100; k++)
            writer.WriteEvent(new RawEvent(EventKind.Alloc, t += 10, Pid, Pid, 0x90_0000 + (ulong)k * 0x100, 200, 4096, 7, AllocFunction.Malloc));
        writer.WriteEvent(new RawEvent(EventKind.Alloc, t += 10, Pid, Pid, 0x90_0000, 300, 4096, 8, AllocFunction.Malloc)); // reused while live
        writer.WriteProcessFork(new ProcessFork { Pid = Child, ParentPid = Pid, TimeNanos = t += 10, Name = "child" });
        writer.WriteEvent(new RawEvent(EventKind.Alloc, t += 10, Child, Child, 0x70_0000, 100, 4096, 9, AllocFunction.Malloc));
        writer.WriteEvent(new RawEvent(EventKind.Alloc, t += 10, Child, Child, 0x70_1000, 100, 4096, 10, AllocFunction.Malloc));
        writer.WriteProcessExec(new ProcessExec { Pid = Child, TimeNanos = t += 10, Name = "other" });
        writer.WriteEvent(new RawEvent(EventKind.Alloc, t += 10, Child, Child, 0x70_0000, 100, 4096, 11, AllocFunction.Malloc));
        writer.WriteProcessExit(new ProcessExit { Pid = Child, TimeNanos = t += 10 });
        writer.WriteProcessExit(new ProcessExit { Pid = Pid, TimeNanos = t += 10 });
        writer.Complete(new Footer { EndTimeNanos = t + 10 });
        return path;
    }

    static long AllocatedBy(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    static string Report(string path, SiteOrder by = SiteOrder.Retained)
    {
        var output = new StringWriter();
        ReportCommand.Run(new ReportOptions(path, 20) { By = by }, output, TextWriter.Null, CancellationToken.None);
        return output.ToString();
    }

    [Fact]
    public void Report_check_and_pprof_allocate_no_more_for_a_million_more_events()
    {
        string small = Write("small.memprof", 200_000), large = Write("large.memprof", 1_200_000);
        // Warm up: the first use of a code path allocates its own (JIT, static tables).
        Report(small);
        long reportSmall = AllocatedBy(() => Report(small)), reportLarge = AllocatedBy(() => Report(large));
        long checkSmall = AllocatedBy(() => Figures(small)), checkLarge = AllocatedBy(() => Figures(large));
        long pprofSmall = AllocatedBy(() => Pprof(small)), pprofLarge = AllocatedBy(() => Pprof(large));
        // The large recording has 2.2 million more events: as a table (60 bytes each) that is
        // 130 MB more. Streamed, only what grows with the events' times and counts differs.
        const long Bound = 4 << 20;
        Assert.True(reportLarge - reportSmall < Bound, $"report: {reportSmall:N0} B for the small recording, {reportLarge:N0} B for the large");
        Assert.True(checkLarge - checkSmall < Bound, $"check: {checkSmall:N0} B for the small recording, {checkLarge:N0} B for the large");
        Assert.True(pprofLarge - pprofSmall < Bound, $"pprof: {pprofSmall:N0} B for the small recording, {pprofLarge:N0} B for the large");
        // And in absolute terms, far below one table of the large recording's events.
        Assert.True(reportLarge < 40 << 20, $"report of the large recording allocated {reportLarge:N0} B");
    }

    static RecordingFigures Figures(string path) =>
        RecordingFigures.From(RecordingLoader.Load(path, TextWriter.Null, streamEvents: true));

    static byte[] Pprof(string path)
    {
        var model = RecordingLoader.Load(path, TextWriter.Null, streamEvents: true);
        var output = new MemoryStream();
        PprofExporter.Write(model, output);
        return output.ToArray();
    }

    [Fact]
    public void An_exec_releases_the_blocks_of_its_process_only_when_it_follows_them()
    {
        // The streamed model is given every exec: the child's, before any event of its own,
        // must release nothing (not the parent's blocks, not its own later ones); the parent's
        // second exec releases the block it left live, as the model with an event table does.
        string path = Path.Combine(_dir, "execs.memprof");
        using (var writer = RecordingWriter.Create(path, new Header { TargetPid = Pid, Collector = "test", Mode = "test-mode", SamplingRateBytes = 1 }))
        {
            var stack = new Stack { Id = 1 };
            stack.Addresses.Add([0x1010, 0xa000]);
            writer.WriteStack(stack);
            writer.WriteEvent(new RawEvent(EventKind.Alloc, 1_000, Pid, Pid, 0x5000, 64, 64, 1, AllocFunction.Malloc));
            writer.WriteProcessFork(new ProcessFork { Pid = Child, ParentPid = Pid, TimeNanos = 1_500, Name = "child" });
            writer.WriteProcessExec(new ProcessExec { Pid = Child, TimeNanos = 2_000, Name = "tool" });
            writer.WriteEvent(new RawEvent(EventKind.Alloc, 3_000, Child, Child, 0x5000, 32, 32, 1, AllocFunction.Malloc));
            writer.WriteEvent(new RawEvent(EventKind.Alloc, 3_500, Pid, Pid, 0x6000, 16, 16, 1, AllocFunction.Malloc));
            writer.WriteEvent(new RawEvent(EventKind.Free, 3_600, Pid, Pid, 0x6000, 0, 0, 1, AllocFunction.FreeFunction));
            writer.WriteProcessExec(new ProcessExec { Pid = Pid, TimeNanos = 4_000, Name = "next" });
            writer.WriteEvent(new RawEvent(EventKind.Alloc, 5_000, Pid, Pid, 0x7000, 16, 16, 1, AllocFunction.Malloc));
            writer.Complete(new Footer { EndTimeNanos = 6_000 });
        }
        var streamed = RecordingLoader.Load(path, TextWriter.Null, streamEvents: true);
        var table = RecordingLoader.Load(path, TextWriter.Null);
        Assert.False(streamed.HasEventTable);
        var events = new List<(EventKind, long, uint, ulong, AllocFunction)>();
        streamed.EventSource.Walk(c =>
        {
            for (int i = 0; i < c.Count; i++) events.Add((c.Kind[i], c.TimeNanos[i], c.Pid[i], c.Address[i], c.Function[i]));
        });
        Assert.Equal(
        [
            (EventKind.Alloc, 1_000L, Pid, 0x5000UL, AllocFunction.Malloc),
            (EventKind.Alloc, 3_000L, Child, 0x5000UL, AllocFunction.Malloc),
            (EventKind.Alloc, 3_500L, Pid, 0x6000UL, AllocFunction.Malloc),
            (EventKind.Free, 3_600L, Pid, 0x6000UL, AllocFunction.FreeFunction),
            (EventKind.Free, 4_000L, Pid, 0x5000UL, AllocFunction.ExecRelease),
            (EventKind.Alloc, 5_000L, Pid, 0x7000UL, AllocFunction.Malloc),
        ], events);
        Assert.Equal(Enumerable.Range(0, table.Events.Count).Select(i =>
            (table.Events.Kind[i], table.Events.TimeNanos[i], table.Events.Pid[i], table.Events.Address[i], table.Events.Function[i])), events);
        Assert.Equal(table.ReplacedImages, streamed.ReplacedImages);
    }

    [Fact]
    public void A_streamed_model_reports_what_the_model_with_an_event_table_reports()
    {
        string path = Write("same.memprof", 30_000);
        var streamed = RecordingLoader.Load(path, TextWriter.Null, streamEvents: true);
        var table = RecordingLoader.Load(path, TextWriter.Null);
        Assert.False(streamed.HasEventTable);
        Assert.Throws<InvalidOperationException>(() => streamed.Events);
        Assert.True(table.HasEventTable);
        // The launcher's event is cut, the child's two live blocks are released by its exec.
        Assert.Equal(table.Events.Count, streamed.EventSource.Count);
        Assert.Equal(2, Enumerable.Range(0, table.Events.Count).Count(i => table.Events.Function[i] == AllocFunction.ExecRelease));
        Assert.Equal(table.Info, streamed.Info with { Command = table.Info.Command, Warnings = table.Info.Warnings });
        Assert.Equal(table.Processes.Select(p => (p.Pid, p.Name, string.Join(",", p.Threads))),
            streamed.Processes.Select(p => (p.Pid, p.Name, string.Join(",", p.Threads))));
        Assert.Equal(table.ReplacedImages, streamed.ReplacedImages);

        foreach (var by in Enum.GetValues<SiteOrder>())
        {
            var fromTable = new StringWriter();
            TextReport.Write(table, new TextReportOptions(by, 20), fromTable);
            var fromStream = new StringWriter();
            TextReport.Write(streamed, new TextReportOptions(by, 20), fromStream);
            Assert.Equal(fromTable.ToString(), fromStream.ToString());
        }
        Assert.Contains("Exec:       2 blocks", Report(path));
        Assert.Contains("1 free whose allocation event was lost", Report(path));

        var tablePprof = new MemoryStream();
        PprofExporter.Write(table, tablePprof);
        Assert.Equal(tablePprof.ToArray(), Pprof(path));

        var tableFigures = RecordingFigures.From(table);
        var streamFigures = RecordingFigures.From(streamed);
        Assert.Equal(tableFigures.Sites, streamFigures.Sites);
        Assert.Equal(tableFigures.PeakBytes, streamFigures.PeakBytes);
    }
}
