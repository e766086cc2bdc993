using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Recording;

public sealed class RecordingRoundTripTests
{
    static byte[] WriteSample(int events, bool complete)
    {
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header { TargetPid = 42, Collector = "test" }, () => 0);
        writer.WriteModule(new Module { Pid = 42, Path = "/bin/x", Start = 0x1000, End = 0x2000 });
        var stack = new Stack { Id = 1 };
        stack.Addresses.Add([0x1100UL, 0x1200UL]);
        writer.WriteStack(stack);
        for (int i = 0; i < events; i++)
            writer.WriteEvent(new RawEvent(i % 2 == 0 ? EventKind.Alloc : EventKind.Free, 1000L * i, 42, 43,
                0x5000UL + (ulong)(i / 2) * 16, i % 2 == 0 ? 16UL : 0, i % 2 == 0 ? 16UL : 0, 1, AllocFunction.Malloc));
        if (complete) writer.Complete(new Footer { Events = (ulong)events });
        else writer.Flush();
        return stream.ToArray();
    }

    [Fact]
    public void Events_modules_and_stacks_survive_a_round_trip()
    {
        var bytes = WriteSample(10_000, complete: true);
        var r = RecordingReader.Read(new MemoryStream(bytes), "x.memprof");
        Assert.Equal(10_000, r.Events.Count);
        Assert.Equal(9_999_000L, r.Events.TimeNanos[^1]);
        Assert.Equal(0x5000UL + 4999 * 16, r.Events.Address[^1]);
        Assert.Equal(EventKind.Free, r.Events.Kind[^1]);
        Assert.Equal([0x1100UL, 0x1200UL], r.Stacks[1].Addresses);
        Assert.Equal("/bin/x", r.Modules.Single().Path);
        Assert.Equal(RecordingFormat.Version, r.Header.FormatVersion);
        Assert.Empty(r.Warnings);
    }

    [Fact]
    public void A_cut_off_recording_reads_up_to_the_cut_with_a_warning()
    {
        // Two full batches, then a third cut anywhere.
        var bytes = WriteSample(RecordingWriter.BatchCapacity * 2 + 2000, complete: false);
        int third = bytes.AsSpan().LastIndexOf(RecordFraming.Sync);
        for (int cut = bytes.Length - 1; cut > third; cut -= Math.Max(1, (bytes.Length - third) / 7))
        {
            var r = RecordingReader.Read(new MemoryStream(bytes[..cut]), "x.memprof");
            Assert.Equal(RecordingWriter.BatchCapacity * 2, r.Events.Count);
            Assert.Single(r.Warnings);
            Assert.Contains("ends in the middle of a record", r.Warnings[0]);
        }
    }

    [Fact]
    public void A_file_that_is_not_a_recording_is_a_wrong_file_type()
    {
        var e = Assert.Throws<ProfilerException>(() => RecordingReader.Read(new MemoryStream("{\"meta\":1}"u8.ToArray()), "p.json"));
        Assert.Equal(ExitCode.WrongFileType, e.ExitCode);
        Assert.Contains("not a memprof recording", e.Message);
    }

    [Fact]
    public void Garbage_after_the_magic_is_corrupt_not_a_crash()
    {
        var bytes = RecordingFormat.Magic.ToArray().Concat(new byte[] { 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00 }).Concat(new byte[64]).ToArray();
        var e = Assert.Throws<ProfilerException>(() => RecordingReader.Read(new MemoryStream(bytes), "bad.memprof"));
        Assert.Equal(ExitCode.CorruptRecording, e.ExitCode);
    }

    [Fact]
    public void A_missing_file_is_reported_as_such()
    {
        var e = Assert.Throws<ProfilerException>(() => RecordingReader.Read("/nonexistent/x.memprof"));
        Assert.Equal(ExitCode.FileNotFound, e.ExitCode);
    }
}
