using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Recording;

/// <summary>Format 2: each record carries a CRC32C. A damaged record is skipped with a warning
/// and everything else is read; a damaged length finds the next record by its sync bytes instead
/// of passing for the end of the file; format 1 recordings still read.</summary>
public sealed class RecordIntegrityTests
{
    const uint Pid = 77;
    const int Batch = RecordingWriter.BatchCapacity;
    /// <summary>Two full batches and half of one.</summary>
    const int Events = Batch * 5 / 2;

    /// <summary>Batches of the writer's batch size, each allocation 100 bytes.</summary>
    static byte[] Recording(int events)
    {
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header { TargetPid = Pid, Collector = "test", SamplingRateBytes = 1, Command = { "/bin/app" } }, () => 0);
        for (int i = 0; i < events; i++)
            writer.WriteEvent(new RawEvent(EventKind.Alloc, i, Pid, Pid, 0x10000 + (ulong)i * 16, 100, 100, 0, AllocFunction.Malloc));
        writer.WriteProcessExit(new ProcessExit { Pid = Pid, TimeNanos = events, ExitCode = 0 });
        writer.Complete(new Footer { Events = (ulong)events });
        return stream.ToArray();
    }

    static RawRecording Read(byte[] bytes) => RecordingReader.Read(new MemoryStream(bytes), "r.memprof");

    /// <summary>Where each record starts (its sync bytes), after the header.</summary>
    static List<int> RecordStarts(byte[] bytes)
    {
        var starts = new List<int>();
        for (int i = RecordingFormat.Magic.Length; i + 4 <= bytes.Length; i++)
            if (bytes.AsSpan(i, 4).SequenceEqual(RecordFraming.Sync)) starts.Add(i);
        return starts;
    }

    [Fact]
    public void The_writer_writes_the_current_format_and_both_readers_read_it_whole()
    {
        var bytes = Recording(Events);
        var r = Read(bytes);
        Assert.Equal(RecordingFormat.Version, r.Header.FormatVersion);
        Assert.Equal(Events, r.Events.Count);
        Assert.True(r.Integrity.Complete);
        Assert.Empty(r.Warnings);
        Assert.Equal(Events, ProtobufRecordingReader.Read(new MemoryStream(bytes), "r.memprof").Events.Count);
    }

    [Fact]
    public void A_crc_known_answer()
    {
        Assert.Equal(0xE3069283u, RecordFraming.Crc32C("123456789"u8));
        Assert.Equal(0u, RecordFraming.Crc32C([]));
    }

    [Fact]
    public void A_flipped_byte_in_an_event_batch_costs_that_batch_only()
    {
        var bytes = Recording(Events);
        var starts = RecordStarts(bytes);
        // The second event batch, compressed: its last byte is among the compressed bytes.
        int second = starts[1];
        bytes[starts[2] - RecordFraming.CrcLength - 1] ^= 0x40;
        foreach (var r in new[] { Read(bytes), ProtobufRecordingReader.Read(new MemoryStream(bytes), "r.memprof") })
        {
            Assert.Equal(Events - Batch, r.Events.Count);
            Assert.False(r.Integrity.Complete);
            Assert.Equal(1, r.Integrity.DamagedRecords);
            Assert.NotNull(r.Footer);
            Assert.Single(r.Exits);
            var warning = Assert.Single(r.Warnings);
            Assert.Contains($"damaged bytes at byte {second} failed their integrity check", warning);
        }
    }

    [Fact]
    public void A_damaged_length_mid_file_is_damage_not_the_end()
    {
        var bytes = Recording(Events);
        var starts = RecordStarts(bytes);
        // The first batch's length varint, made huge: format 1 took this for a cut tail.
        bytes[starts[0] + RecordFraming.Sync.Length] = 0xff;
        var r = Read(bytes);
        Assert.Equal(Events - Batch, r.Events.Count);
        Assert.Equal(1, r.Integrity.DamagedRecords);
        Assert.False(r.Integrity.CutShort);
        Assert.NotNull(r.Footer);
    }

    [Fact]
    public void A_damaged_header_is_corrupt()
    {
        var bytes = Recording(100);
        bytes[RecordingFormat.Magic.Length + 3] ^= 1;
        var e = Assert.Throws<ProfilerException>(() => Read(bytes));
        Assert.Equal(ExitCode.CorruptRecording, e.ExitCode);
    }

    [Fact]
    public void A_cut_names_the_byte_where_the_cut_record_starts()
    {
        var bytes = Recording(Events);
        var starts = RecordStarts(bytes);
        int last = starts[^1];
        foreach (int cut in new[] { last + 1, last + 5, bytes.Length - 1 })
        {
            var r = Read(bytes[..cut]);
            Assert.True(r.Integrity.CutShort);
            Assert.Contains($"ends in the middle of a record at byte {last} ", Assert.Single(r.Warnings));
        }
    }

    [Fact]
    public void A_format_1_recording_still_reads()
    {
        var path = Path.Combine(RepoRoot.Path, "tests", "Profiler.Viewer.Tests", "fixtures", "allocs-leak.memprof");
        var r = RecordingReader.Read(path);
        Assert.Equal(1u, r.Header.FormatVersion);
        Assert.True(r.Events.Count > 0);
        Assert.True(r.Integrity.Complete);
        Assert.Empty(r.Warnings);
    }

    [Fact]
    public void A_format_1_cut_names_the_right_byte()
    {
        var path = Path.Combine(RepoRoot.Path, "tests", "Profiler.Viewer.Tests", "fixtures", "allocs-leak.memprof");
        var bytes = File.ReadAllBytes(path);
        var cut = bytes[..^3];
        var r = Read(cut);
        var warning = Assert.Single(r.Warnings);
        int at = int.Parse(System.Text.RegularExpressions.Regex.Match(warning, "at byte ([0-9]+) ").Groups[1].Value);
        Assert.InRange(at, RecordingFormat.Magic.Length, cut.Length - 1);
        Assert.Equal(warning, ProtobufRecordingReader.Read(new MemoryStream(cut), "r.memprof").Warnings.Single());
    }
}
