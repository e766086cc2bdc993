using System.IO.Compression;
using Profiler.Cli.Commands;
using Profiler.Core;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Profiler.Export;
using Profiler.Firefox;

namespace Profiler.Tests.Firefox;

/// <summary>
/// A recording with more allocations than a Firefox profile should list: the export keeps every
/// block live at the end and at the heap's peak, samples the rest with weights that keep the
/// totals unbiased, stays under its row cap, says so, and the Firefox Profiler's loader reads
/// it with the recording's exact retained bytes and allocated bytes within the error printed.
/// </summary>
public sealed class SampledExportTests : IDisposable
{
    const uint Pid = 42;
    const int MaxRows = 40_000;
    readonly string _dir = Directory.CreateTempSubdirectory("memprof-sampled-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>250,000 allocations of 8 B to 64 KiB over 32 stacks: a build-up of 3,000 blocks
    /// freed after the peak, churn freed soon after, and 700 leaked blocks.</summary>
    string WriteLarge()
    {
        string path = Path.Combine(_dir, "large.memprof");
        using var writer = RecordingWriter.Create(path, new Header
        {
            TargetPid = Pid, Collector = "test", Mode = "test-mode", SamplingRateBytes = 1, Command = { "app" },
        });
        for (ulong id = 1; id <= 32; id++)
        {
            var stack = new Stack { Id = id };
            stack.Addresses.Add([0x1000 + id * 0x10, 0xa000]);
            writer.WriteStack(stack);
        }
        var random = new Random(7);
        long t = 1_000;
        ulong next = 0x10_0000;
        void Alloc(ulong address, ulong size, ulong stack) =>
            writer.WriteEvent(new RawEvent(EventKind.Alloc, t += 100, Pid, Pid, address, size, size, stack, AllocFunction.Malloc));
        void Free(ulong address) =>
            writer.WriteEvent(new RawEvent(EventKind.Free, t += 100, Pid, Pid, address, 0, 0, 32, AllocFunction.FreeFunction));
        ulong Size() => (ulong)(8 << random.Next(14)) + (ulong)random.Next(8);

        var buildUp = new List<ulong>();
        for (int i = 0; i < 3_000; i++) { buildUp.Add(next); Alloc(next, Size(), 1 + (ulong)(i % 4)); next += 0x10000; }
        foreach (var address in buildUp) Free(address);
        var churn = new Queue<ulong>();
        for (int i = 0; i < 246_300; i++)
        {
            Alloc(next, Size(), 5 + (ulong)(i % 24));
            churn.Enqueue(next);
            next += 0x10000;
            if (churn.Count > 20) Free(churn.Dequeue());
        }
        while (churn.Count > 0) Free(churn.Dequeue());
        for (int i = 0; i < 700; i++) { Alloc(next, Size(), 30); next += 0x10000; }
        writer.WriteProcessExit(new ProcessExit { Pid = Pid, TimeNanos = t += 100 });
        writer.Complete(new Footer { EndTimeNanos = t + 100 });
        return path;
    }

    [Fact]
    public void A_large_recording_exports_a_sample_with_its_live_blocks_and_unbiased_totals()
    {
        string recording = WriteLarge();
        var table = RecordingLoader.Load(recording, TextWriter.Null);
        var streamed = RecordingLoader.Load(recording, TextWriter.Null, streamEvents: true);
        var exact = HeapMetrics.Compute(table).Total;
        var peak = HeapTimelines.Compute(table).Overall;

        var (sampled, sampling) = FirefoxSelection.Select(streamed, MaxRows);
        Assert.NotNull(sampling);
        var ev = sampled.Events;
        // Under the cap: the sampled rows, beside the blocks kept whole (live at the end or the peak).
        long whole = (long)exact.RetainedBlocks + (long)exact.PeakBlocks;
        Assert.True(ev.Count <= MaxRows * 1.1 + 2 * whole, $"{ev.Count:N0} rows for a cap of {MaxRows:N0} and {whole:N0} blocks kept whole");
        Assert.True(ev.Count >= MaxRows / 2, $"only {ev.Count:N0} rows");
        Assert.Equal(exact.Samples, sampling.Allocations);

        // Every block live at the end is there, at its own weight.
        var rows = Enumerable.Range(0, ev.Count).Where(i => ev.Kind[i] == EventKind.Alloc)
            .Select(i => (ev.TimeNanos[i], ev.Address[i], ev.Weight[i])).ToHashSet();
        var heap = HeapAnalysis.Compute(table);
        var all = table.Events;
        int live = 0;
        for (int i = 0; i < all.Count; i++)
        {
            if (all.Kind[i] != EventKind.Alloc || heap.FreedBy[i] >= 0) continue;
            live++;
            Assert.Contains((all.TimeNanos[i], all.Address[i], all.Weight[i]), rows);
        }
        Assert.Equal(700, live);
        // And so is every block live at the peak: the sample's peak is the recording's.
        Assert.Equal(peak.PeakBytes, HeapTimelines.Compute(sampled).Overall.PeakBytes);

        // The profile, as the command writes it: it says it is a sample, with the error.
        string profile = Path.Combine(_dir, "large.json.gz");
        var stderr = new StringWriter();
        Assert.Equal(0, ExportCommand.Run(new ExportOptions(recording, "firefox", profile) { MaxRows = MaxRows }, TextWriter.Null, stderr,
            CancellationToken.None));
        Assert.Contains($"sampled for size: {sampling.KeptAllocations:N0} of {exact.Samples:N0} allocations listed", stderr.ToString());
        using (var json = new GZipStream(File.OpenRead(profile), CompressionMode.Decompress))
            Assert.Empty(ProfileValidator.Validate(json, FirefoxExporter.OutputRules));
        string text = new StreamReader(new GZipStream(File.OpenRead(profile), CompressionMode.Decompress)).ReadToEnd();
        Assert.Contains(FirefoxExporter.SampledMarker, text);
        Assert.Contains("sampled for size", text);

        var totals = FirefoxLoader.Totals(profile);
        Assert.Equal(exact.RetainedBytes, totals.RetainedBytes);
        double error = sampling.AllocatedError;
        Assert.True(error > 0);
        Assert.True(Math.Abs(totals.AllocatedBytes - exact.AllocatedBytes) <= 4 * error,
            $"allocated {totals.AllocatedBytes:N0} B for {exact.AllocatedBytes:N0} B, one standard error {error:N0} B");
        Assert.True(Math.Abs(totals.DeallocatedBytes - exact.FreedBytes) <= 4 * error,
            $"deallocated {totals.DeallocatedBytes:N0} B for {exact.FreedBytes:N0} B, one standard error {error:N0} B");
    }

    [Fact]
    public void A_recording_under_the_cap_is_exported_whole()
    {
        string recording = WriteLarge();
        var streamed = RecordingLoader.Load(recording, TextWriter.Null, streamEvents: true);
        var (whole, sampling) = FirefoxSelection.Select(streamed, maxRows: 1_000_000);
        Assert.Null(sampling);
        Assert.Equal(streamed.EventSource.Count, whole.Events.Count);
    }
}
