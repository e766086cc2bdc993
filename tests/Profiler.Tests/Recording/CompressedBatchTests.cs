using System.IO.Compression;
using Google.Protobuf;
using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Record = Profiler.Core.Recording.Proto.Record;

namespace Profiler.Tests.Recording;

/// <summary>
/// Format 3 compresses each event batch after coding addresses, pids and tids as steps and weights
/// as differences from the size. Every value a column can hold comes back exactly, through both
/// readers and the streaming walk; a cut or broken batch costs that batch; formats 1 and 2 still read.
/// </summary>
public sealed class CompressedBatchTests
{
    const int Batch = RecordingWriter.BatchCapacity;

    /// <summary>Steps that wrap both ways, the extremes of each column, weights below and above the size.</summary>
    static List<RawEvent> EdgeEvents()
    {
        ulong[] addresses = [0, ulong.MaxValue, 0, 1, ulong.MaxValue - 1, 0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, 0x5555_0000_1000, 0x5555_0000_0ff0];
        uint[] pids = [0, uint.MaxValue, 1, uint.MaxValue - 1, 0x8000_0000, 0x7fff_ffff, 42];
        (ulong Size, ulong Weight)[] sizes = [(0, 0), (0, ulong.MaxValue), (ulong.MaxValue, 0), (16, 16), (100, 7), (7, 100), (ulong.MaxValue, ulong.MaxValue), (1, 0x8000_0000_0000_0000)];
        var events = new List<RawEvent>();
        long time = 0;
        for (int i = 0; i < 3 * Batch + 17; i++)
        {
            // Times that stand still and that jump by the most a step can hold.
            time += i % 11 == 0 ? 0 : i == 5 ? long.MaxValue / 2 : i % 3;
            var (size, weight) = sizes[i % sizes.Length];
            events.Add(new RawEvent(i % 13 == 0 ? (EventKind)(-1) : i % 2 == 0 ? EventKind.Alloc : EventKind.Free, time,
                pids[i % pids.Length], pids[(i / 3) % pids.Length], addresses[i % addresses.Length] + (ulong)(i / addresses.Length),
                size, weight, i % 5 == 0 ? ulong.MaxValue : (ulong)i % 40, i % 17 == 0 ? (AllocFunction)(-7) : AllocFunction.Malloc));
        }
        return events;
    }

    static byte[] Write(IEnumerable<RawEvent> events, bool complete = true)
    {
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header { TargetPid = 1, Collector = "test" }, () => 0);
        int n = 0;
        foreach (var e in events) { writer.WriteEvent(e); n++; }
        if (complete) writer.Complete(new Footer { Events = (ulong)n });
        else writer.Flush();
        return stream.ToArray();
    }

    static void AssertEvents(IReadOnlyList<RawEvent> expected, EventColumns actual, string reader)
    {
        Assert.True(expected.Count == actual.Count, $"{reader}: {actual.Count} events, not {expected.Count}");
        for (int i = 0; i < expected.Count; i++)
            if (expected[i] != actual[i]) Assert.Fail($"{reader}, event {i}: expected {expected[i]}, got {actual[i]}");
    }

    static EventColumns Walked(RawRecording recording)
    {
        var all = new EventColumns();
        Assert.True(recording.Batches.Walk(batch =>
        {
            for (int i = 0; i < batch.Count; i++) all.Add(batch[i]);
        }));
        return all;
    }

    [Fact]
    public void Edge_values_come_back_exactly_through_every_reader()
    {
        var events = EdgeEvents();
        var bytes = Write(events);
        AssertEvents(events, RecordingReader.Read(new MemoryStream(bytes), "x.memprof").Events, "fast");
        AssertEvents(events, ProtobufRecordingReader.Read(new MemoryStream(bytes), "x.memprof").Events, "reference");
        var file = Path.Combine(Path.GetTempPath(), $"compressed-{Environment.ProcessId}.memprof");
        try
        {
            File.WriteAllBytes(file, bytes);
            AssertEvents(events, RecordingReader.Read(file).Events, "mapped");
            var streamed = RecordingReader.ReadStreaming(file);
            Assert.True(streamed.EventsInFile);
            AssertEvents(events, Walked(streamed), "streamed");
        }
        finally { File.Delete(file); }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(Batch)]
    [InlineData(Batch + 1)]
    public void Batches_of_one_a_full_batch_and_one_more_round_trip(int count)
    {
        var events = EdgeEvents().Take(count).ToList();
        var r = RecordingReader.Read(new MemoryStream(Write(events)), "x.memprof");
        AssertEvents(events, r.Events, "fast");
        Assert.True(r.Integrity.Complete);
    }

    [Fact]
    public void A_recording_without_events_has_no_event_record()
    {
        Assert.Equal(4, CompressedRecords(Write(EdgeEvents()))); // three full batches and the rest
        var bytes = Write([]);
        Assert.Equal(0, CompressedRecords(bytes));
        var r = RecordingReader.Read(new MemoryStream(bytes), "x.memprof");
        Assert.Equal(0, r.Events.Count);
        Assert.True(r.Integrity.Complete);
    }

    [Fact]
    public void An_empty_compressed_batch_reads_as_no_events_in_both_readers()
    {
        var empty = new CompressedEvents { Count = 0, Length = 0, Brotli = ByteString.CopyFrom(Brotli([])) };
        var bytes = WithRecord(new Record { CompressedEvents = empty });
        foreach (var r in new[] { RecordingReader.Read(new MemoryStream(bytes), "x.memprof"), ProtobufRecordingReader.Read(new MemoryStream(bytes), "x.memprof") })
        {
            Assert.Equal(1, r.Events.Count); // the one event written before it
            Assert.True(r.Integrity.Complete);
        }
    }

    [Fact]
    public void A_cut_compressed_batch_costs_that_batch_only()
    {
        var events = EdgeEvents();
        var bytes = Write(events, complete: false);
        int last = bytes.AsSpan().LastIndexOf(RecordFraming.Sync);
        var file = Path.Combine(Path.GetTempPath(), $"compressed-cut-{Environment.ProcessId}.memprof");
        try
        {
            foreach (int cut in new[] { last + 1, last + 7, (last + bytes.Length) / 2, bytes.Length - 1 })
            {
                var whole = 3 * Batch;
                File.WriteAllBytes(file, bytes[..cut]);
                var r = RecordingReader.Read(file);
                AssertEvents(events[..whole], r.Events, $"cut at {cut}");
                Assert.True(r.Integrity.CutShort);
                AssertEvents(events[..whole], Walked(RecordingReader.ReadStreaming(file)), $"streamed, cut at {cut}");
            }
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void A_batch_that_does_not_decompress_is_the_same_corrupt_error_in_both_readers()
    {
        var batch = new EventBatch();
        GeneratedBatches.Append(batch, new RawEvent(EventKind.Alloc, 5, 1, 1, 0x1000, 16, 16, 1, AllocFunction.Malloc), 5);
        var plain = batch.ToByteArray();
        var good = Brotli(plain);
        foreach (var (what, record) in new[]
                 {
                     ("garbage", new CompressedEvents { Count = 1, Length = (uint)plain.Length, Brotli = ByteString.CopyFrom(1, 2, 3, 4) }),
                     ("a wrong length", new CompressedEvents { Count = 1, Length = (uint)plain.Length + 1, Brotli = ByteString.CopyFrom(good) }),
                     ("a wrong count", new CompressedEvents { Count = 2, Length = (uint)plain.Length, Brotli = ByteString.CopyFrom(good) }),
                 })
        {
            var bytes = WithRecord(new Record { CompressedEvents = record });
            var fast = Assert.Throws<ProfilerException>(() => RecordingReader.Read(new MemoryStream(bytes), "x.memprof"));
            var reference = Assert.Throws<ProfilerException>(() => ProtobufRecordingReader.Read(new MemoryStream(bytes), "x.memprof"));
            Assert.Equal(ExitCode.CorruptRecording, fast.ExitCode);
            Assert.True(fast.Message == reference.Message, $"{what}: '{fast.Message}' against '{reference.Message}'");
            Assert.Contains("compressed event batch", fast.Message);
        }
    }

    [Fact]
    public void A_format_2_recording_reads_the_same_events_as_format_3()
    {
        var events = EdgeEvents();
        var bytes = Format2(events);
        foreach (var r in new[] { RecordingReader.Read(new MemoryStream(bytes), "x.memprof"), ProtobufRecordingReader.Read(new MemoryStream(bytes), "x.memprof") })
        {
            Assert.Equal(2u, r.Header.FormatVersion);
            AssertEvents(events, r.Events, "format 2");
            Assert.True(r.Integrity.Complete);
        }
        Assert.True(Write(events).Length * 2 < bytes.Length, "format 3 should be far smaller than format 2");
    }

    [Fact]
    public void Events_like_a_programs_take_a_few_bytes_each()
    {
        // A program's pattern: nearby addresses, a few threads, sizes from a small set, frees soon after.
        var rng = new Random(9);
        var events = new List<RawEvent>();
        long time = 0;
        var live = new Queue<ulong>();
        ulong next = 0x5555_5555_0000;
        for (int i = 0; i < 200_000; i++)
        {
            time += rng.Next(50, 400);
            uint tid = 100 + (uint)(i / 5000 % 4);
            if (live.Count > 50 && rng.Next(2) == 0)
                events.Add(new RawEvent(EventKind.Free, time, 100, tid, live.Dequeue(), 0, 0, 0, AllocFunction.FreeFunction));
            else
            {
                ulong size = (ulong)(16 << rng.Next(6));
                events.Add(new RawEvent(EventKind.Alloc, time, 100, tid, next, size, size, (ulong)rng.Next(1, 40), AllocFunction.Malloc));
                live.Enqueue(next);
                next += size + 16;
            }
        }
        var bytes = Write(events);
        double perEvent = (double)bytes.Length / events.Count, format2 = (double)Format2(events).Length / events.Count;
        // Random times, sizes and stacks leave ~4.4 bytes of the ~18 format 2 takes.
        Assert.True(perEvent < 5 && perEvent * 3.5 < format2, $"{perEvent:F2} bytes an event, format 2 {format2:F2}");
        AssertEvents(events, RecordingReader.Read(new MemoryStream(bytes), "x.memprof").Events, "fast");
    }

    /// <summary>The CompressedEvents records, found by their sync bytes.</summary>
    static int CompressedRecords(byte[] bytes)
    {
        int n = 0;
        for (int i = bytes.AsSpan().IndexOf(RecordFraming.Sync); i >= 0;)
        {
            int p = i + RecordFraming.Sync.Length;
            while (bytes[p] >= 0x80) p++;
            if (bytes[p + 1] == (14 << 3 | 2)) n++;
            int next = bytes.AsSpan(i + 1).IndexOf(RecordFraming.Sync);
            i = next < 0 ? -1 : i + 1 + next;
        }
        return n;
    }

    static byte[] Brotli(byte[] plain)
    {
        var compressed = new byte[BrotliEncoder.GetMaxCompressedLength(plain.Length)];
        Assert.True(BrotliEncoder.TryCompress(plain, compressed, out int written, RecordingFormat.CompressionQuality, RecordingFormat.CompressionWindow));
        return compressed[..written];
    }

    /// <summary>A recording with one event, then <paramref name="record"/>, then the footer.</summary>
    static byte[] WithRecord(Record record)
    {
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header { TargetPid = 1, Collector = "test" }, () => 0);
        writer.WriteEvent(new RawEvent(EventKind.Alloc, 10, 1, 1, 0x1000, 16, 16, 1, AllocFunction.Malloc));
        writer.Flush();
        RecordFraming.WriteBytes(stream, record.ToByteArray());
        writer.Complete(new Footer { Events = 1 });
        return stream.ToArray();
    }

    /// <summary>The events as format 2 wrote them: plain EventBatch records of 4096 events, times
    /// clamped to their predecessor's, every record checked.</summary>
    static byte[] Format2(IReadOnlyList<RawEvent> events)
    {
        var stream = new MemoryStream();
        stream.Write(RecordingFormat.Magic);
        byte[] frame = [];
        RecordFraming.Write(stream, new Record { Header = new Header { FormatVersion = 2, TargetPid = 1, Collector = "test" } }, true, ref frame);
        long last = 0;
        for (int start = 0; start < events.Count; start += 4096)
        {
            var batch = new EventBatch();
            foreach (var e in events.Skip(start).Take(4096))
            {
                long delta = Math.Max(0, e.TimeNanos - last);
                last += delta;
                GeneratedBatches.Append(batch, e, (ulong)delta);
            }
            RecordFraming.Write(stream, new Record { Events = batch }, false, ref frame);
        }
        RecordFraming.Write(stream, new Record { Footer = new Footer { Events = (ulong)events.Count } }, false, ref frame);
        return stream.ToArray();
    }
}
