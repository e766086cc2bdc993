using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Record = Profiler.Core.Recording.Proto.Record;

namespace Profiler.Tests.Recording;

/// <summary>
/// The writer encodes event batches itself, column by column from the event schema. Its bytes
/// must be exactly those the generated protobuf classes write for the same events, as the writer
/// once did through them: recordings written before and after are alike, byte for byte.
/// </summary>
public sealed class EventBatchBytesTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_writer_writes_the_bytes_of_the_generated_classes(int seed)
    {
        var rng = new Random(seed);
        var actual = new MemoryStream();
        var writer = new RecordingWriter(actual, new Header { TargetPid = 1, Collector = "test" }, () => 0);
        var expected = new GeneratedWriter();

        long time = 0;
        int untilFlush = rng.Next(1, 1000);
        for (int i = 0; i < 20_000; i++)
        {
            time += rng.Next(8) switch { 0 => -rng.Next(1000), 1 => rng.NextInt64(), 2 => 0, _ => rng.Next(1 << 20) };
            var e = RandomEvent(rng, time);
            writer.WriteEvent(e);
            expected.Add(e);
            if (--untilFlush > 0) continue;
            // Batches of every length, ended by the writer's flush and by the records that end one.
            untilFlush = rng.Next(1, 1000);
            if (rng.Next(2) == 0)
            {
                writer.Flush();
                expected.EndBatch();
            }
            else
            {
                var stats = new Stats { TimeNanos = time, Events = (ulong)i };
                writer.WriteStats(stats);
                expected.Write(new Record { Stats = stats });
            }
        }
        var footer = new Footer { EndTimeNanos = time, Events = 20_000 };
        writer.Complete(footer);
        expected.Write(new Record { Footer = footer });

        Assert.Equal(expected.Bytes(new Header { TargetPid = 1, Collector = "test" }), actual.ToArray());
    }

    /// <summary>Values of every varint length: negative enums (ten bytes on the wire), the largest
    /// numbers, zeros.</summary>
    static RawEvent RandomEvent(Random rng, long time) => new(
        rng.Next(10) switch { 0 => (EventKind)(-1), 1 => (EventKind)rng.Next(), _ => (EventKind)rng.Next(3) },
        time,
        rng.Next(5) == 0 ? uint.MaxValue : (uint)rng.Next(1 << rng.Next(1, 31)),
        (uint)rng.Next(),
        rng.Next(5) == 0 ? ulong.MaxValue : (ulong)rng.NextInt64(1L << rng.Next(1, 63)),
        (ulong)rng.Next(1 << rng.Next(1, 31)),
        rng.Next(7) == 0 ? 0 : (ulong)rng.NextInt64(),
        (ulong)rng.Next(0, 300),
        rng.Next(10) == 0 ? (AllocFunction)(-7) : (AllocFunction)rng.Next(0, 40));

    /// <summary>The recording as the writer wrote it through the generated classes: an EventBatch
    /// per batch, backward times clamped to their predecessor's, framed by <see cref="RecordFraming"/>.</summary>
    sealed class GeneratedWriter
    {
        readonly MemoryStream _records = new();
        EventBatch _batch = new();
        long _lastTime;
        byte[] _frame = [];

        public void Add(in RawEvent e)
        {
            long delta = Math.Max(0, e.TimeNanos - _lastTime);
            _lastTime += delta;
            GeneratedBatches.Append(_batch, e, (ulong)delta);
        }

        public void EndBatch()
        {
            if (_batch.Kind.Count > 0) RecordFraming.Write(_records, new Record { Events = _batch }, false, ref _frame);
            _batch = new EventBatch();
        }

        public void Write(Record record)
        {
            EndBatch();
            RecordFraming.Write(_records, record, false, ref _frame);
        }

        public byte[] Bytes(Header header)
        {
            var all = new MemoryStream();
            all.Write(RecordingFormat.Magic);
            header.FormatVersion = RecordingFormat.Version;
            RecordFraming.Write(all, new Record { Header = header }, true, ref _frame);
            _records.WriteTo(all);
            return all.ToArray();
        }
    }
}
