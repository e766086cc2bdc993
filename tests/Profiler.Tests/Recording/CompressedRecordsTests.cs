using System.IO.Compression;
using Google.Protobuf;
using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Record = Profiler.Core.Recording.Proto.Record;

namespace Profiler.Tests.Recording;

/// <summary>
/// Format 4 writes a runtime's JIT symbols compressed (CompressedRecords): they read back exactly,
/// in order, through both readers; the writer's bytes are those of the generated classes; a record
/// that does not decompress to what it says, or holds one that may not stand inside it, is exit 67.
/// </summary>
public sealed class CompressedRecordsTests
{
    /// <summary>Perf-map lines as a .NET runtime writes them, many sharing their namespaces.</summary>
    static JitSymbols Symbols(uint pid, int count, int seed)
    {
        var rng = new Random(seed);
        var symbols = new JitSymbols { Pid = pid, TimeNanos = seed * 1000L, Source = "perf-map" };
        ulong at = 0x7f00_1234_0000UL;
        for (int i = 0; i < count; i++)
        {
            ulong size = (ulong)rng.Next(16, 4000);
            symbols.Symbols.Add(new JitSymbol
            {
                Start = at, Size = size,
                Name = i % 17 == 0 ? "stub<" + i + "> AllocateObject" : $"instance void [System.Private.CoreLib] System.Collections.Generic.List`1[System.__Canon]::Method{i}(int32)[Tier{i % 2}]",
            });
            at += size + (ulong)rng.Next(64);
        }
        return symbols;
    }

    static byte[] Write(params JitSymbols[] all)
    {
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header { TargetPid = 1, Collector = "test" }, () => 0);
        foreach (var symbols in all) writer.WriteJitSymbols(symbols);
        writer.Complete(new Footer());
        return stream.ToArray();
    }

    [Fact]
    public void Jit_symbols_come_back_exactly_and_in_order_through_every_reader()
    {
        JitSymbols[] all = [Symbols(7, 3000, 1), Symbols(7, 1, 2), new JitSymbols { Pid = 8 }, Symbols(9, 500, 3)];
        var bytes = Write(all);
        var file = Path.Combine(Path.GetTempPath(), $"jit-{Environment.ProcessId}.memprof");
        try
        {
            File.WriteAllBytes(file, bytes);
            foreach (var (reader, r) in new[]
                     {
                         ("fast", RecordingReader.Read(new MemoryStream(bytes), "x")), ("reference", ProtobufRecordingReader.Read(new MemoryStream(bytes), "x")),
                         ("mapped", RecordingReader.Read(file)), ("streamed", RecordingReader.ReadStreaming(file)),
                     })
            {
                Assert.True(all.SequenceEqual(r.JitSymbols), reader);
                Assert.True(r.Integrity.Complete, reader);
            }
        }
        finally { File.Delete(file); }
        long plain = all.Sum(s => (long)CodedOutputStream.ComputeMessageSize(new Record { JitSymbols = s }));
        Assert.True(bytes.Length * 4 < plain, $"{bytes.Length:N0} bytes written for {plain:N0} of symbols");
    }

    [Fact]
    public void The_writer_writes_the_bytes_of_the_generated_classes()
    {
        var symbols = Symbols(3, 800, 4);
        var expected = new MemoryStream();
        expected.Write(RecordingFormat.Magic);
        byte[] frame = [];
        RecordFraming.Write(expected, new Record { Header = new Header { TargetPid = 1, Collector = "test", FormatVersion = RecordingFormat.Version } }, true, ref frame);
        var inside = new MemoryStream();
        new Record { JitSymbols = symbols }.WriteDelimitedTo(inside);
        RecordFraming.Write(expected, new Record { CompressedRecords = Compressed(1, inside.ToArray()) }, false, ref frame);
        RecordFraming.Write(expected, new Record { Footer = new Footer() }, false, ref frame);
        Assert.Equal(expected.ToArray(), Write(symbols));
    }

    [Fact]
    public void A_compressed_record_that_does_not_hold_what_it_says_is_the_same_corrupt_error_in_both_readers()
    {
        byte[] Delimited(params Record[] records)
        {
            var s = new MemoryStream();
            foreach (var r in records) r.WriteDelimitedTo(s);
            return s.ToArray();
        }
        var one = Delimited(new Record { JitSymbols = Symbols(1, 3, 5) });
        foreach (var (what, record) in new[]
                 {
                     ("garbage", new CompressedRecords { Count = 1, Length = (uint)one.Length, Brotli = ByteString.CopyFrom(1, 2, 3) }),
                     ("a wrong count", Compressed(2, one)),
                     ("a cut record inside", Compressed(1, one[..^1])),
                     ("a header inside", Compressed(2, Delimited(new Record { JitSymbols = Symbols(1, 3, 5) }, new Record { Header = new Header { FormatVersion = 4 } }))),
                     ("stacks inside", Compressed(1, Delimited(new Record { CompressedStacks = new CompressedStacks { Count = 1 } }))),
                 })
        {
            var stream = new MemoryStream();
            var writer = new RecordingWriter(stream, new Header { TargetPid = 1, Collector = "test" }, () => 0);
            writer.Flush();
            RecordFraming.WriteBytes(stream, new Record { CompressedRecords = record }.ToByteArray());
            writer.Complete(new Footer());
            var bytes = stream.ToArray();
            var fast = Assert.Throws<ProfilerException>(() => RecordingReader.Read(new MemoryStream(bytes), "x.memprof"));
            var reference = Assert.Throws<ProfilerException>(() => ProtobufRecordingReader.Read(new MemoryStream(bytes), "x.memprof"));
            Assert.Equal(ExitCode.CorruptRecording, fast.ExitCode);
            Assert.True(fast.Message == reference.Message, $"{what}: '{fast.Message}' against '{reference.Message}'");
            Assert.Contains("compressed record", fast.Message);
        }
    }

    static CompressedRecords Compressed(uint count, byte[] plain)
    {
        var compressed = new byte[BrotliEncoder.GetMaxCompressedLength(plain.Length)];
        Assert.True(BrotliEncoder.TryCompress(plain, compressed, out int written, RecordingFormat.CompressionQuality, RecordingFormat.CompressionWindow));
        return new CompressedRecords { Count = count, Length = (uint)plain.Length, Brotli = ByteString.CopyFrom(compressed, 0, written) };
    }
}
