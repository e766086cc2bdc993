using Google.Protobuf;
using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Recording;

/// <summary>
/// <see cref="RecordingReader"/> decodes event batches itself; <see cref="ProtobufRecordingReader"/>
/// reads every record through the generated protobuf classes. On any bytes — real, generated with
/// every record kind, unusually encoded, cut off or damaged — both must give the same recording or
/// the same error.
/// </summary>
public sealed class FastReaderAgreementTests
{
    const uint Pid = 4242;

    /// <summary>The EventBatch fields of the event columns, in order.</summary>
    static readonly int[] Fields = [.. EventColumns.Columns.Select(c => c.Field)];

    /// <summary>A field no column has.</summary>
    static readonly int UnknownField = Fields.Max() + 3;

    [Fact]
    public void A_real_recording_reads_the_same()
    {
        var path = Path.Combine(RepoRoot.Path, "tests", "Profiler.Viewer.Tests", "fixtures", "allocs-leak.memprof");
        var fast = RecordingReader.Read(path);
        Assert.True(fast.Events.Count > 0, $"{fast.Events.Count} events");
        AssertSame(Reference(File.ReadAllBytes(path)), fast);
    }

    [Fact]
    public void Every_record_kind_and_extreme_values_read_the_same_from_a_stream_and_from_a_file()
    {
        // More events than one thread decodes alone, so both halves and the time shift between them are used.
        var bytes = EveryKind(events: 300_000, seed: 1);
        var expected = Reference(bytes);
        Assert.Equal(300_000, expected.Events.Count);
        AssertSame(expected, RecordingReader.Read(new MemoryStream(bytes), "x.memprof"));

        var file = Path.Combine(Path.GetTempPath(), $"fast-reader-{Environment.ProcessId}.memprof");
        try
        {
            File.WriteAllBytes(file, bytes);
            AssertSame(expected, RecordingReader.Read(file));
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void A_stream_read_from_the_middle_starts_at_its_position()
    {
        var bytes = EveryKind(events: 5000, seed: 2);
        var padded = new byte[17].Concat(bytes).ToArray();
        var stream = new MemoryStream(padded) { Position = 17 };
        AssertSame(Reference(bytes), RecordingReader.Read(stream, "x.memprof"));
    }

    [Fact]
    public void A_recording_cut_anywhere_reads_the_same()
    {
        var bytes = EveryKind(events: 9000, seed: 3);
        var cuts = Enumerable.Range(0, 64).Select(i => (int)((long)bytes.Length * i / 64))
            .Concat(Enumerable.Range(1, 40)).Concat(Enumerable.Range(bytes.Length - 40, 40)).Distinct();
        foreach (int cut in cuts) AssertSameOutcome(bytes[..cut], $"cut at {cut}");
    }

    [Fact]
    public void Damaged_bytes_give_the_same_recording_or_the_same_error()
    {
        var bytes = EveryKind(events: 3000, seed: 4);
        var rng = new Random(5);
        for (int trial = 0; trial < 300; trial++)
        {
            var damaged = (byte[])bytes.Clone();
            for (int k = rng.Next(1, 4); k > 0; k--) damaged[rng.Next(RecordingFormat.Magic.Length, damaged.Length)] = (byte)rng.Next(256);
            AssertSameOutcome(damaged, $"trial {trial}");
        }
    }

    [Fact]
    public void Batches_encoded_otherwise_than_the_writer_does_read_the_same()
    {
        var batch = RandomBatch(new Random(6), 500);
        foreach (var (name, encoded) in new[]
                 {
                     ("fields in reverse order", Encode(batch, order: [.. Fields.Reverse()], packed: true)),
                     ("unpacked columns", Encode(batch, order: Fields, packed: false)),
                     ("a column split in two", Encode(batch, order: [.. Fields, Fields[4]], packed: true)),
                     ("an unknown field", Encode(batch, order: [.. Fields, UnknownField], packed: true)),
                     ("a column missing", Encode(batch, order: [.. Fields.Where(f => f != Fields[3])], packed: true)),
                 })
        {
            var bytes = WithBatchRecord(encoded);
            AssertSameOutcome(bytes, name);
        }
    }

    [Fact]
    public void Columns_of_different_lengths_are_the_same_corrupt_error()
    {
        var batch = RandomBatch(new Random(7), 100);
        batch.Weight.RemoveAt(0);
        var bytes = WithBatchRecord(batch.ToByteArray());
        var e = Assert.Throws<ProfilerException>(() => RecordingReader.Read(new MemoryStream(bytes), "x.memprof"));
        Assert.Equal(ExitCode.CorruptRecording, e.ExitCode);
        Assert.Contains("columns of different lengths", e.Message);
        AssertSameOutcome(bytes, "short weight column");
    }

    static RawRecording Reference(byte[] bytes) => ProtobufRecordingReader.Read(new MemoryStream(bytes), "x.memprof");

    static void AssertSameOutcome(byte[] bytes, string what)
    {
        RawRecording? expected = null, actual = null;
        ProfilerException? expectedError = null, actualError = null;
        try { expected = Reference(bytes); }
        catch (ProfilerException e) { expectedError = e; }
        try { actual = RecordingReader.Read(new MemoryStream(bytes), "x.memprof"); }
        catch (ProfilerException e) { actualError = e; }
        Assert.True((expectedError?.Message, expectedError?.ExitCode) == (actualError?.Message, actualError?.ExitCode),
            $"{what}: expected error '{expectedError?.Message}', got '{actualError?.Message}'");
        if (expected is not null) AssertSame(expected, actual!);
    }

    static void AssertSame(RawRecording expected, RawRecording actual)
    {
        Assert.Equal(expected.Header, actual.Header);
        Assert.Equal(expected.Modules, actual.Modules);
        Assert.Equal(expected.Threads, actual.Threads);
        Assert.Equal(expected.Stacks.OrderBy(kv => kv.Key), actual.Stacks.OrderBy(kv => kv.Key));
        Assert.Equal(expected.Exits, actual.Exits);
        Assert.Equal(expected.Execs, actual.Execs);
        Assert.Equal(expected.Forks, actual.Forks);
        Assert.Equal(expected.Counters, actual.Counters);
        Assert.Equal(expected.LastStats, actual.LastStats);
        Assert.Equal(expected.Footer, actual.Footer);
        Assert.Equal(string.Join("\n", expected.Warnings), string.Join("\n", actual.Warnings));
        var (e, a) = (expected.Events, actual.Events);
        Assert.Equal(e.Count, a.Count);
        for (int i = 0; i < e.Count; i++)
            if (e[i] != a[i]) Assert.Fail($"event {i}: expected {e[i]}, got {a[i]}");
    }

    /// <summary>Every record kind, events with values of every varint length (negative enums
    /// take ten bytes), times that wrap, and batches flushed early by other records.</summary>
    static byte[] EveryKind(int events, int seed)
    {
        var rng = new Random(seed);
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header
        {
            TargetPid = Pid, Collector = "test", Mode = "every kind", SamplingRateBytes = 4096, Launched = true,
            Command = { "/bin/app", "--flag" }, Hostname = "host", Kernel = "6.1", Stacks = "dwarf", StartUnixNanos = 1_700_000_000_000_000_000,
        }, () => 0);
        writer.WriteModule(new Module { Pid = Pid, Path = "/bin/app", BuildId = "abcd", Start = 0x400000, End = 0x500000, FileOffset = 0x1000, TimeNanos = 5 });
        writer.WriteThread(new Profiler.Core.Recording.Proto.Thread { Pid = Pid, Tid = Pid + 1, Name = "worker" });
        for (ulong id = 1; id <= 50; id++)
        {
            var stack = new Stack { Id = id, Truncated = id % 7 == 0 };
            for (int d = 0; d < 1 + (int)(id % 9); d++) stack.Addresses.Add(0x400000 + (ulong)rng.Next(0x100000));
            writer.WriteStack(stack);
        }
        writer.WriteStack(new Stack { Id = 3, Addresses = { 0x400123 } }); // a stack id seen again: the last wins
        long time = 0;
        for (int i = 0; i < events; i++)
        {
            time += rng.Next(10) switch { 0 => 0, 1 => rng.NextInt64(), 2 => rng.Next(1 << 20), _ => rng.Next(200) };
            writer.WriteEvent(RandomEvent(rng, time));
            if (i % 20_011 == 0) writer.WriteHeapCounters(new HeapCounters { Pid = Pid, TimeNanos = time, Allocations = (ulong)i, LiveBytesKnown = true, LiveBytes = i });
            if (i % 50_021 == 7) writer.WriteStats(new Stats { TimeNanos = time, Events = (ulong)i, LostEvents = 3 });
            if (i == events / 3) writer.WriteProcessFork(new ProcessFork { Pid = Pid + 10, ParentPid = Pid, TimeNanos = time, Name = "child" });
            if (i == events / 2) writer.WriteProcessExec(new ProcessExec { Pid = Pid + 10, TimeNanos = time, Name = "exec'd" });
        }
        writer.WriteProcessExit(new ProcessExit { Pid = Pid + 10, TimeNanos = time, ExitCode = -3 });
        writer.Complete(new Footer { EndTimeNanos = time, Events = (ulong)events, LostEvents = 1 });
        return stream.ToArray();
    }

    static RawEvent RandomEvent(Random rng, long time) => new(
        rng.Next(20) switch { 0 => (EventKind)(-1), 1 => EventKind.Unspecified, 2 => (EventKind)9, < 11 => EventKind.Alloc, _ => EventKind.Free },
        time,
        rng.Next(4) == 0 ? uint.MaxValue - (uint)rng.Next(3) : Pid + (uint)rng.Next(3),
        (uint)rng.Next(),
        rng.Next(5) == 0 ? ulong.MaxValue - (ulong)rng.Next(100) : (ulong)rng.NextInt64(),
        (ulong)rng.Next(1 << rng.Next(1, 31)),
        (ulong)rng.NextInt64(1L << rng.Next(1, 63)),
        (ulong)rng.Next(0, 60),
        rng.Next(10) == 0 ? (AllocFunction)(-7) : (AllocFunction)rng.Next(0, 21));

    static EventBatch RandomBatch(Random rng, int events)
    {
        var batch = new EventBatch();
        for (int i = 0; i < events; i++) GeneratedBatches.Append(batch, RandomEvent(rng, 0), (ulong)rng.Next(1000));
        return batch;
    }

    /// <summary>An EventBatch's bytes with its fields in the given order (a field named twice is
    /// split between its two occurrences), packed or one value per tag.</summary>
    static byte[] Encode(EventBatch batch, int[] order, bool packed)
    {
        var output = new MemoryStream();
        var coded = new CodedOutputStream(output);
        var occurrences = order.GroupBy(f => f).ToDictionary(g => g.Key, g => g.Count());
        var seen = new Dictionary<int, int>();
        foreach (int field in order)
        {
            var values = field == UnknownField ? [1, 2, 3] : GeneratedBatches.WireValues(batch, field);
            int part = seen[field] = seen.GetValueOrDefault(field) + 1;
            int half = values.Count / 2;
            var slice = occurrences[field] == 1 ? values : part == 1 ? values.Take(half).ToList() : values.Skip(half).ToList();
            if (packed)
            {
                coded.WriteTag(field, WireFormat.WireType.LengthDelimited);
                coded.WriteLength(slice.Sum(v => CodedOutputStream.ComputeUInt64Size(v)));
                foreach (var v in slice) coded.WriteUInt64(v);
            }
            else
                foreach (var v in slice)
                {
                    coded.WriteTag(field, WireFormat.WireType.Varint);
                    coded.WriteUInt64(v);
                }
        }
        coded.Flush();
        return output.ToArray();
    }

    /// <summary>A small recording with one event record holding the given EventBatch bytes.</summary>
    static byte[] WithBatchRecord(byte[] batch)
    {
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header { TargetPid = Pid, Collector = "test" }, () => 0);
        writer.WriteEvent(new RawEvent(EventKind.Alloc, 10, Pid, Pid, 0x1000, 16, 16, 1, AllocFunction.Malloc));
        writer.Flush();
        var record = new MemoryStream();
        var coded = new CodedOutputStream(record);
        coded.WriteTag(5, WireFormat.WireType.LengthDelimited);
        coded.WriteBytes(ByteString.CopyFrom(batch));
        coded.Flush();
        RecordFraming.WriteBytes(stream, record.ToArray());
        writer.Complete(new Footer { Events = 1 });
        return stream.ToArray();
    }
}
