using System.IO.Compression;
using Google.Protobuf;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Record = Profiler.Core.Recording.Proto.Record;

namespace Profiler.Tests.Recording;

/// <summary>
/// The writer encodes stack batches itself. Its bytes must be exactly those the generated protobuf
/// classes write for the same stacks, coded as recording.proto's StackBatch describes (the coding
/// done here again, apart from the writer's) and compressed as CompressedStacks says.
/// </summary>
public sealed class StackBatchBytesTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_writer_writes_the_bytes_of_the_generated_classes(int seed)
    {
        var rng = new Random(seed);
        var header = new Header { TargetPid = 1, Collector = "test" };
        var actual = new MemoryStream();
        var writer = new RecordingWriter(actual, header.Clone(), () => 0);
        var expected = new MemoryStream();
        expected.Write(RecordingFormat.Magic);
        byte[] frame = [];
        RecordFraming.Write(expected, new Record { Header = new Header(header) { FormatVersion = RecordingFormat.Version } }, true, ref frame);

        var batch = new List<Stack>();
        void EndBatch()
        {
            if (batch.Count > 0) RecordFraming.Write(expected, new Record { CompressedStacks = Compressed(batch) }, false, ref frame);
            batch.Clear();
        }
        var before = new List<ulong>();
        int untilFlush = rng.Next(1, 300);
        for (int i = 0; i < RecordingWriter.StackBatchCapacity + 5000; i++)
        {
            var stack = RandomStack(rng, before);
            before = [.. stack.Addresses];
            writer.WriteStack(stack);
            batch.Add(stack);
            if (batch.Count == RecordingWriter.StackBatchCapacity) EndBatch();
            if (--untilFlush > 0) continue;
            // Batches ended by the writer's flush and by a record that ends one.
            untilFlush = rng.Next(1, rng.Next(2) == 0 ? 30 : 3000);
            if (rng.Next(2) == 0)
            {
                writer.Flush();
                EndBatch();
            }
            else
            {
                var exit = new ProcessExit { Pid = 1, TimeNanos = i };
                writer.WriteProcessExit(exit);
                EndBatch();
                RecordFraming.Write(expected, new Record { ProcessExit = exit }, false, ref frame);
            }
        }
        var footer = new Footer { Events = 7 };
        writer.Complete(footer);
        EndBatch();
        RecordFraming.Write(expected, new Record { Footer = footer }, false, ref frame);

        Assert.Equal(expected.ToArray(), actual.ToArray());
    }

    /// <summary>Frames of every varint length, ids that jump anywhere; most stacks share callers
    /// with the stack before, as a program's do.</summary>
    static Stack RandomStack(Random rng, List<ulong> before)
    {
        var stack = new Stack
        {
            Id = rng.Next(6) switch { 0 => ulong.MaxValue - (ulong)rng.Next(3), 1 => (ulong)rng.NextInt64(), 2 => 0, _ => (ulong)rng.Next(1 << 20) },
            Truncated = rng.Next(4) == 0,
        };
        int depth = rng.Next(8) == 0 ? 0 : rng.Next(1, 70);
        int shared = rng.Next(3) == 0 ? 0 : rng.Next(0, Math.Min(depth, before.Count) + 1);
        var callers = before.Skip(before.Count - shared);
        var own = Enumerable.Range(0, depth - shared).Select(_ => rng.Next(5) switch
        {
            0 => ulong.MaxValue - (ulong)rng.Next(100),
            1 => (ulong)rng.Next(100),
            2 => (ulong)rng.NextInt64(),
            _ => 0x5555_0000_0000UL + (ulong)rng.Next(1 << 24),
        });
        stack.Addresses.Add(own.Concat(callers));
        return stack;
    }

    /// <summary>recording.proto's coding: ids zigzag steps; each stack's frames from the outermost
    /// in, zigzag steps from the same depth of the stack before while the stack matches it from
    /// the outermost frame, and from the frame before once it does not; then Brotli as the format names it.</summary>
    static CompressedStacks Compressed(List<Stack> stacks)
    {
        var batch = new StackBatch();
        ulong idBefore = 0;
        ulong[] before = [];
        foreach (var stack in stacks)
        {
            batch.Id.Add(ZigZag((long)(stack.Id - idBefore)));
            idBefore = stack.Id;
            batch.Depth.Add((uint)stack.Addresses.Count);
            batch.Truncated.Add(stack.Truncated);
            var outermostFirst = stack.Addresses.Reverse().ToArray();
            int matched = 0;
            while (matched < outermostFirst.Length && matched < before.Length && outermostFirst[matched] == before[matched]) matched++;
            for (int d = 0; d < outermostFirst.Length; d++)
            {
                // Frames up to and including the first that differs are against the stack before.
                ulong reference = d <= matched && d < before.Length ? before[d] : d == 0 ? 0 : outermostFirst[d - 1];
                batch.Address.Add(ZigZag((long)(outermostFirst[d] - reference)));
            }
            before = outermostFirst;
        }
        var plain = batch.ToByteArray();
        var compressed = new byte[BrotliEncoder.GetMaxCompressedLength(plain.Length)];
        Assert.True(BrotliEncoder.TryCompress(plain, compressed, out int written, RecordingFormat.CompressionQuality, RecordingFormat.CompressionWindow));
        return new CompressedStacks { Count = (uint)stacks.Count, Length = (uint)plain.Length, Brotli = ByteString.CopyFrom(compressed, 0, written) };
    }

    static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));
}
