using System.IO.Compression;
using Google.Protobuf;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Record = Profiler.Core.Recording.Proto.Record;

namespace Profiler.Tests.Recording;

/// <summary>
/// The writer encodes event batches itself, column by column from the event schema. Its bytes
/// must be exactly those the generated protobuf classes write for the same events, coded as
/// recording.proto's CompressedEvents describes (the coding done here again, apart from the
/// writer's) and compressed alike.
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

    /// <summary>The recording as the writer would write it through the generated classes: a
    /// CompressedEvents per batch, backward times clamped to their predecessor's, framed by
    /// <see cref="RecordFraming"/>.</summary>
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
            if (_batch.Kind.Count > 0) RecordFraming.Write(_records, new Record { CompressedEvents = Compressed(_batch) }, false, ref _frame);
            _batch = new EventBatch();
        }

        /// <summary>recording.proto's coding: pid and tid zigzag (32-bit) steps, addresses zigzag
        /// steps, weights zigzag differences from the size; then Brotli as the format names it.</summary>
        static CompressedEvents Compressed(EventBatch batch)
        {
            var tight = batch.Clone();
            Steps32(tight.Pid);
            Steps32(tight.Tid);
            ulong before = 0;
            for (int i = 0; i < tight.Address.Count; i++)
            {
                ulong value = tight.Address[i];
                tight.Address[i] = ZigZag((long)(value - before));
                before = value;
            }
            for (int i = 0; i < tight.Weight.Count; i++) tight.Weight[i] = ZigZag((long)(tight.Weight[i] - tight.Size[i]));
            var plain = tight.ToByteArray();
            var compressed = new byte[BrotliEncoder.GetMaxCompressedLength(plain.Length)];
            Assert.True(BrotliEncoder.TryCompress(plain, compressed, out int written, RecordingFormat.CompressionQuality, RecordingFormat.CompressionWindow));
            return new CompressedEvents { Count = (uint)batch.Kind.Count, Length = (uint)plain.Length, Brotli = ByteString.CopyFrom(compressed, 0, written) };
        }

        static void Steps32(Google.Protobuf.Collections.RepeatedField<uint> values)
        {
            uint before = 0;
            for (int i = 0; i < values.Count; i++)
            {
                uint value = values[i];
                int step = (int)(value - before);
                values[i] = (uint)((step << 1) ^ (step >> 31));
                before = value;
            }
        }

        static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));

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
