using System.IO.Compression;
using Google.Protobuf;
using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Record = Profiler.Core.Recording.Proto.Record;

namespace Profiler.Tests.Recording;

/// <summary>
/// Format 4 writes stacks in compressed batches, each frame a step from the same depth of the
/// stack before (counted from the outermost caller) while the two match. Every stack comes back
/// exactly through both readers, before the events that name it; a cut or broken batch costs that
/// batch or is the corrupt-recording error; format-3 recordings (a record per stack) still read.
/// </summary>
public sealed class CompressedStackTests
{
    const int Capacity = RecordingWriter.StackBatchCapacity;

    /// <summary>Ids and frames at the extremes, steps that wrap both ways, stacks that share their
    /// callers and stop sharing them, empty and deeper stacks, an id written twice (the last wins).</summary>
    static List<Stack> EdgeStacks(int count)
    {
        ulong[] ids = [0, ulong.MaxValue, 1, ulong.MaxValue - 1, 0x8000_0000_0000_0000, 0x7fff_ffff_ffff_ffff];
        ulong[] frames = [0, ulong.MaxValue, 1, 0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, 0x5555_0000_1000, 0x5555_0000_0ff0];
        var stacks = new List<Stack>();
        for (int i = 0; i < count; i++)
        {
            var stack = new Stack { Id = i < ids.Length ? ids[i] : 1000 + (ulong)i * (i % 3 == 0 ? 7UL : 1UL), Truncated = i % 5 == 0 };
            int depth = i % 9 == 4 ? 0 : 1 + i % 23;
            // Callers shared with the stack before down to a depth that moves, then frames of its own.
            int shared = i % 4 == 0 ? depth : depth / 2;
            for (int d = 0; d < depth; d++)
                stack.Addresses.Add(d >= depth - shared ? frames[(depth - d) % frames.Length] + (ulong)(depth - d) : frames[(i + d) % frames.Length] ^ (ulong)i);
            stacks.Add(stack);
        }
        if (count > 2) stacks.Add(new Stack { Id = stacks[1].Id, Addresses = { 0x400123 } });
        return stacks;
    }

    /// <summary>Each stack, then an event naming it; records that end a batch now and then.</summary>
    static byte[] Write(IReadOnlyList<Stack> stacks, bool complete = true, Action<RecordingWriter, int>? after = null)
    {
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header { TargetPid = 1, Collector = "test" }, () => 0);
        for (int i = 0; i < stacks.Count; i++)
        {
            writer.WriteStack(stacks[i]);
            writer.WriteEvent(Event(i, stacks[i].Id));
            after?.Invoke(writer, i);
        }
        if (complete) writer.Complete(new Footer { Events = (ulong)stacks.Count });
        else writer.Flush();
        return stream.ToArray();
    }

    static RawEvent Event(int i, ulong stack) => new(EventKind.Alloc, i, 1, 1, 0x1000 + (ulong)i * 16, 16, 16, stack, AllocFunction.Malloc);

    /// <summary>The stacks as a reader keeps them: by id, the last of an id winning.</summary>
    static Dictionary<ulong, Stack> ById(IEnumerable<Stack> stacks)
    {
        var byId = new Dictionary<ulong, Stack>();
        foreach (var s in stacks) byId[s.Id] = s;
        return byId;
    }

    static void AssertStacks(IReadOnlyDictionary<ulong, Stack> expected, RawRecording actual, string reader)
    {
        Assert.True(expected.Count == actual.Stacks.Count, $"{reader}: {actual.Stacks.Count} stacks, not {expected.Count}");
        foreach (var (id, stack) in expected)
        {
            Assert.True(actual.Stacks.TryGetValue(id, out var got), $"{reader}: stack {id:x} missing");
            Assert.True(stack.Equals(got), $"{reader}, stack {id:x}: expected {stack}, got {got}");
        }
    }

    static IEnumerable<(string Reader, RawRecording Recording)> EveryReader(byte[] bytes, string file)
    {
        File.WriteAllBytes(file, bytes);
        yield return ("fast", RecordingReader.Read(new MemoryStream(bytes), "x.memprof"));
        yield return ("reference", ProtobufRecordingReader.Read(new MemoryStream(bytes), "x.memprof"));
        yield return ("mapped", RecordingReader.Read(file));
        var streamed = RecordingReader.ReadStreaming(file);
        Assert.True(streamed.EventsInFile);
        yield return ("streamed", streamed);
    }

    static string TempFile(string what) => Path.Combine(Path.GetTempPath(), $"stacks-{what}-{Environment.ProcessId}.memprof");

    [Theory]
    [InlineData(1)]
    [InlineData(200)]
    [InlineData(Capacity - 1)] // with the id written again: a full batch
    [InlineData(Capacity)]
    [InlineData(2 * Capacity + 17)]
    public void Stacks_come_back_exactly_through_every_reader(int count)
    {
        var stacks = EdgeStacks(count);
        var bytes = Write(stacks);
        // One batch before the first event batch, then one per full batch of stacks.
        Assert.Equal((stacks.Count + Capacity - 1) / Capacity, Records(bytes, StackBatchRecord));
        Assert.Equal(0, Records(bytes, (4 << 3) | 2));
        var file = TempFile("edges");
        try
        {
            foreach (var (reader, r) in EveryReader(bytes, file))
            {
                AssertStacks(ById(stacks), r, reader);
                Assert.Equal(RecordingFormat.Version, r.Header.FormatVersion);
                Assert.True(r.Integrity.Complete, reader);
            }
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void A_recording_without_stacks_has_no_stack_record()
    {
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header { TargetPid = 1, Collector = "test" }, () => 0);
        writer.WriteEvent(Event(0, 0));
        writer.Complete(new Footer { Events = 1 });
        Assert.Equal(0, Records(stream.ToArray(), StackBatchRecord));
        Assert.Empty(RecordingReader.Read(new MemoryStream(stream.ToArray()), "x.memprof").Stacks);
    }

    [Fact]
    public void An_events_stack_is_written_before_its_event_batch()
    {
        // Batches ended by a flush, a full event batch and the records that end one: each stack
        // batch lands before the event batch holding the first event that names its stacks.
        var stacks = EdgeStacks(3 * RecordingWriter.BatchCapacity);
        var bytes = Write(stacks, after: (writer, i) =>
        {
            if (i % 5000 == 4999) writer.Flush();
            if (i % 7001 == 7000) writer.WriteStats(new Stats { Events = (ulong)i });
        });
        var seen = new HashSet<ulong>();
        foreach (var (tag, body) in RecordBodies(bytes))
        {
            var record = Record.Parser.ParseFrom(body);
            if (record.KindCase == Record.KindOneofCase.CompressedStacks)
                seen.UnionWith(Ids(StackBatch.Parser.ParseFrom(Unbrotli(record.CompressedStacks.Brotli, record.CompressedStacks.Length))));
            if (record.KindCase == Record.KindOneofCase.CompressedEvents)
                foreach (ulong id in EventBatch.Parser.ParseFrom(Unbrotli(record.CompressedEvents.Brotli, record.CompressedEvents.Length)).StackId)
                    Assert.True(seen.Contains(id), $"an event names stack {id:x} before it was written");
        }
        Assert.True(Records(bytes, StackBatchRecord) >= 10, "flushes and stats end stack batches");
    }

    [Fact]
    public void A_cut_stack_batch_costs_that_batch_only()
    {
        var stacks = EdgeStacks(Capacity + 500);
        // A whole batch of stacks and events, then a batch of stacks cut anywhere.
        var bytes = Write(stacks, complete: false, after: (writer, i) => { if (i == Capacity - 1) writer.Flush(); });
        var (stackRecord, _) = LastRecord(bytes, StackBatchRecord);
        int next = bytes.AsSpan(stackRecord + 1).IndexOf(RecordFraming.Sync) + stackRecord + 1;
        var file = TempFile("cut");
        try
        {
            foreach (int cut in new[] { stackRecord + 1, stackRecord + 7, (stackRecord + next) / 2, next - 1 })
            {
                File.WriteAllBytes(file, bytes[..cut]);
                foreach (var r in new[] { RecordingReader.Read(file), RecordingReader.ReadStreaming(file), ProtobufRecordingReader.Read(new MemoryStream(bytes[..cut]), "x") })
                {
                    AssertStacks(ById(stacks.Take(Capacity)), r, $"cut at {cut}");
                    Assert.True(r.Integrity.CutShort);
                    Assert.Equal(Capacity, r.Batches.Count);
                }
            }
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void A_stack_batch_that_does_not_decode_is_the_same_corrupt_error_in_both_readers()
    {
        var batch = new StackBatch { Id = { 2 }, Depth = { 2 }, Truncated = { false }, Address = { 0x1000, 2 } };
        var plain = batch.ToByteArray();
        var good = Brotli(plain);
        var inconsistent = new StackBatch { Id = { 2, 4 }, Depth = { 2 }, Truncated = { false, true }, Address = { 0x800, 2 } }.ToByteArray();
        var framesShort = new StackBatch { Id = { 2 }, Depth = { 3 }, Truncated = { false }, Address = { 0x800, 2 } }.ToByteArray();
        foreach (var (what, record) in new[]
                 {
                     ("garbage", new CompressedStacks { Count = 1, Length = (uint)plain.Length, Brotli = ByteString.CopyFrom(1, 2, 3, 4) }),
                     ("a wrong length", new CompressedStacks { Count = 1, Length = (uint)plain.Length + 1, Brotli = ByteString.CopyFrom(good) }),
                     ("a wrong count", new CompressedStacks { Count = 2, Length = (uint)plain.Length, Brotli = ByteString.CopyFrom(good) }),
                     ("columns of different lengths", new CompressedStacks { Count = 2, Length = (uint)inconsistent.Length, Brotli = ByteString.CopyFrom(Brotli(inconsistent)) }),
                     ("fewer frames than depths", new CompressedStacks { Count = 1, Length = (uint)framesShort.Length, Brotli = ByteString.CopyFrom(Brotli(framesShort)) }),
                     ("no StackBatch", new CompressedStacks { Count = 1, Length = 3, Brotli = ByteString.CopyFrom(Brotli([0xff, 0xff, 0xff])) }),
                     ("a varint cut at the end of its column", Cut(plain)),
                 })
        {
            var bytes = WithRecord(new Record { CompressedStacks = record });
            var fast = Assert.Throws<ProfilerException>(() => RecordingReader.Read(new MemoryStream(bytes), "x.memprof"));
            var reference = Assert.Throws<ProfilerException>(() => ProtobufRecordingReader.Read(new MemoryStream(bytes), "x.memprof"));
            Assert.Equal(ExitCode.CorruptRecording, fast.ExitCode);
            Assert.True(fast.Message == reference.Message, $"{what}: '{fast.Message}' against '{reference.Message}'");
            Assert.Contains("compressed stack batch", fast.Message);
        }
        // The good one reads, and wins over the stack of its id written before: stack 1 (a step of
        // +1 from 0), the frames 0x800 (outermost, zigzag 0x1000) and 0x801 (a step of +1).
        var r = RecordingReader.Read(new MemoryStream(WithRecord(new Record { CompressedStacks = new CompressedStacks { Count = 1, Length = (uint)plain.Length, Brotli = ByteString.CopyFrom(good) } })), "x");
        Assert.Equal([0x801UL, 0x800UL], r.Stacks[1].Addresses);
        // The same batch laid out otherwise (its fields in reverse order, which protobuf merges): read alike.
        byte[] reversed = [.. new StackBatch { Address = { 0x1000, 2 } }.ToByteArray(), .. new StackBatch { Truncated = { false } }.ToByteArray(),
            .. new StackBatch { Depth = { 2 } }.ToByteArray(), .. new StackBatch { Id = { 2 } }.ToByteArray()];
        var otherwise = WithRecord(new Record { CompressedStacks = new CompressedStacks { Count = 1, Length = (uint)reversed.Length, Brotli = ByteString.CopyFrom(Brotli(reversed)) } });
        foreach (var read in new[] { RecordingReader.Read(new MemoryStream(otherwise), "x"), ProtobufRecordingReader.Read(new MemoryStream(otherwise), "x") })
            Assert.Equal([0x801UL, 0x800UL], read.Stacks[1].Addresses);
    }

    [Fact]
    public void A_format_3_recording_with_a_record_per_stack_still_reads()
    {
        var stacks = EdgeStacks(300);
        var stream = new MemoryStream();
        stream.Write(RecordingFormat.Magic);
        byte[] frame = [];
        RecordFraming.Write(stream, new Record { Header = new Header { FormatVersion = 3, TargetPid = 1, Collector = "test" } }, true, ref frame);
        foreach (var s in stacks) RecordFraming.Write(stream, new Record { Stack = s }, false, ref frame);
        RecordFraming.Write(stream, new Record { Footer = new Footer() }, false, ref frame);
        var file = TempFile("format3");
        try
        {
            foreach (var (reader, r) in EveryReader(stream.ToArray(), file))
            {
                Assert.Equal(3u, r.Header.FormatVersion);
                AssertStacks(ById(stacks), r, reader);
            }
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void A_newer_format_is_refused_with_the_version_this_memprof_reads()
    {
        var stream = new MemoryStream();
        stream.Write(RecordingFormat.Magic);
        byte[] frame = [];
        RecordFraming.Write(stream, new Record { Header = new Header { FormatVersion = RecordingFormat.Version + 1, TargetPid = 1 } }, true, ref frame);
        var bytes = stream.ToArray();
        foreach (var read in new Func<RawRecording>[] { () => RecordingReader.Read(new MemoryStream(bytes), "x"), () => ProtobufRecordingReader.Read(new MemoryStream(bytes), "x") })
        {
            var e = Assert.Throws<ProfilerException>(read);
            Assert.Equal(ExitCode.WrongFileType, e.ExitCode);
            Assert.Contains($"has recording format {RecordingFormat.Version + 1}; this memprof reads up to {RecordingFormat.Version}", e.Message);
        }
        Assert.Equal(4u, RecordingFormat.Version);
    }

    [Fact]
    public void Stacks_like_a_programs_take_a_few_bytes_each()
    {
        // A program's call tree: return addresses from a few thousand call sites, stacks that
        // branch off one another; a new stack shares its callers with the one before, or now and
        // then with another seen recently.
        var rng = new Random(5);
        var functions = Enumerable.Range(0, 3000).Select(_ => 0x5555_5555_0000UL + (ulong)rng.Next(1 << 22)).ToArray();
        var paths = new List<ulong[]> { Enumerable.Range(0, 12).Select(_ => functions[rng.Next(functions.Length)]).ToArray() };
        var stacks = new List<Stack>();
        for (int i = 0; i < 5000; i++)
        {
            var parent = paths[Math.Max(0, paths.Count - 1 - (rng.Next(4) == 0 ? rng.Next(8) : 0))];
            int keep = rng.Next(parent.Length / 2, parent.Length);
            var path = parent.Take(keep).Concat(Enumerable.Range(0, rng.Next(1, 8)).Select(_ => functions[rng.Next(functions.Length)])).ToArray();
            paths.Add(path);
            var stack = new Stack { Id = (ulong)i + 1 };
            stack.Addresses.Add(path.Reverse());
            stacks.Add(stack);
        }
        long format3 = stacks.Sum(s => (long)RecordFraming.Sync.Length + CodedOutputStream.ComputeMessageSize(new Record { Stack = s }) + RecordFraming.CrcLength);
        var bytes = Write(stacks);
        long format4 = RecordStarts(bytes).Zip(RecordStarts(bytes).Skip(1).Select(r => r.Start).Append(bytes.Length))
            .Where(r => bytes[r.First.Body] == StackBatchRecord).Sum(r => (long)(r.Second - r.First.Start));
        double perStack = (double)format4 / stacks.Count, before = (double)format3 / stacks.Count;
        // ~112 bytes a stack as records, ~18 compressed: the ~4 frames of its own a stack adds are
        // random here (a program's are less so: rg's and bat's stacks take 5 and 2 bytes).
        Assert.True(perStack * 5 < before, $"{perStack:F1} bytes a stack, {before:F1} as records");
        AssertStacks(ById(stacks), RecordingReader.Read(new MemoryStream(Write(stacks)), "x"), "fast");
    }

    const byte StackBatchRecord = (15 << 3) | 2;

    /// <summary>The batch whose last column (addresses, three bytes: 0x80 0x20 0x02) ends in an
    /// unfinished varint: 0x80 0x20 0x82 0x80, its length one more.</summary>
    static CompressedStacks Cut(byte[] plain)
    {
        Assert.Equal([0x22, 3, 0x80, 0x20, 0x02], plain[^5..]);
        byte[] cut = [.. plain[..^4], 4, 0x80, 0x20, 0x82, 0x80];
        return new CompressedStacks { Count = 1, Length = (uint)cut.Length, Brotli = ByteString.CopyFrom(Brotli(cut)) };
    }

    static byte[] Unbrotli(ByteString brotli, uint length)
    {
        var plain = new byte[length];
        Assert.True(BrotliDecoder.TryDecompress(brotli.Span, plain, out int written) && written == plain.Length);
        return plain;
    }

    static IEnumerable<ulong> Ids(StackBatch batch)
    {
        ulong id = 0;
        foreach (ulong z in batch.Id) yield return id += (ulong)((long)(z >> 1) ^ -(long)(z & 1));
    }

    static int Records(byte[] bytes, byte tag) => RecordBodies(bytes).Count(r => r.Tag == tag);

    static (int Start, int Body) LastRecord(byte[] bytes, byte tag)
    {
        (int, int) last = (-1, -1);
        foreach (var (start, body) in RecordStarts(bytes))
            if (bytes[body] == tag) last = (start, body);
        return last;
    }

    /// <summary>Every record after the header: where its sync bytes start and where its body does.</summary>
    static IEnumerable<(int Start, int Body)> RecordStarts(byte[] bytes)
    {
        int p = RecordingFormat.Magic.Length;
        ulong headerLength = ReadVarint(bytes, ref p);
        p += (int)headerLength + RecordFraming.CrcLength;
        while (p < bytes.Length)
        {
            Assert.True(bytes.AsSpan(p).StartsWith(RecordFraming.Sync));
            int start = p;
            p += RecordFraming.Sync.Length;
            ulong length = ReadVarint(bytes, ref p);
            yield return (start, p);
            p += (int)length + RecordFraming.CrcLength;
        }
    }

    static IEnumerable<(byte Tag, byte[] Body)> RecordBodies(byte[] bytes)
    {
        foreach (var (start, body) in RecordStarts(bytes))
        {
            int p = start + RecordFraming.Sync.Length;
            int length = (int)ReadVarint(bytes, ref p);
            yield return (bytes[body], bytes[body..(body + length)]);
        }
    }

    static ulong ReadVarint(byte[] bytes, ref int p)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = bytes[p++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
    }

    static byte[] Brotli(byte[] plain)
    {
        var compressed = new byte[BrotliEncoder.GetMaxCompressedLength(plain.Length)];
        Assert.True(BrotliEncoder.TryCompress(plain, compressed, out int written, RecordingFormat.CompressionQuality, RecordingFormat.CompressionWindow));
        return compressed[..written];
    }

    /// <summary>A recording with stack 1 and an event naming it, then <paramref name="record"/>, then the footer.</summary>
    static byte[] WithRecord(Record record)
    {
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header { TargetPid = 1, Collector = "test" }, () => 0);
        writer.WriteStack(new Stack { Id = 1, Addresses = { 0x10 } });
        writer.WriteEvent(Event(0, 1));
        writer.Flush();
        RecordFraming.WriteBytes(stream, record.ToByteArray());
        writer.Complete(new Footer { Events = 1 });
        return stream.ToArray();
    }
}
