using Profiler.Collectors.Linux.Inject;

namespace Profiler.Tests.Collector.Inject;

/// <summary>The loader process's one-line result, as memprof reads it back.</summary>
public sealed class RemoteLoaderProcessTests
{
    [Fact]
    public void A_load_result_comes_back_whole_from_its_line()
    {
        var sent = new RemoteLoadResult(true, false, null, 0x7f00_1234_5000, 4321, "malloc called from app",
            TimeSpan.FromMilliseconds(12.5), TimeSpan.FromMilliseconds(7), TimeSpan.FromMilliseconds(40),
            ["thread 7: inside malloc"], 1, ["thread 9 has not stopped 1 s after its interrupt"], TimeSpan.FromMilliseconds(2));

        string line = RemoteLoaderProcess.Encode(sent);
        var received = RemoteLoaderProcess.Decode(line);

        Assert.DoesNotContain('\n', line);
        Assert.NotNull(received);
        Assert.Equal((sent.Loaded, sent.AlreadyLoaded, sent.Failure, sent.Handle, sent.Tid, sent.SafePoint, sent.ToSafePoint, sent.Call, sent.Total, sent.CallStops, sent.Arming),
            (received.Loaded, received.AlreadyLoaded, received.Failure, received.Handle, received.Tid, received.SafePoint, received.ToSafePoint, received.Call, received.Total, received.CallStops, received.Arming));
        Assert.Equal(sent.Rejected, received.Rejected);
        Assert.Equal(sent.Notes, received.Notes);
    }

    [Fact]
    public void A_failure_keeps_its_reason()
    {
        var received = RemoteLoaderProcess.Decode(RemoteLoaderProcess.Encode(RemoteLoadResult.Failed("no safe point within 2 s\nin 4 threads")));

        Assert.NotNull(received);
        Assert.False(received.Loaded);
        Assert.Equal("no safe point within 2 s\nin 4 threads", received.Failure);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Unhandled exception. System.Exception")]
    [InlineData("{\"Loaded\":")]
    public void A_line_that_is_not_a_result_is_none(string line) => Assert.Null(RemoteLoaderProcess.Decode(line));

    [Fact]
    public void A_probe_notice_comes_back_whole_and_is_never_taken_for_a_result()
    {
        var sent = new SafePointProbeNotice(4321, "/proc/4321/root/usr/lib/x86_64-linux-gnu/libc.so.6", [0x98ef0, 0xa0a10, ulong.MaxValue]);

        string line = sent.Encode();
        var received = SafePointProbeNotice.Decode(line);

        Assert.DoesNotContain('\n', line);
        Assert.NotNull(received);
        Assert.Equal((sent.Pid, sent.Path), (received.Pid, received.Path));
        Assert.Equal(sent.Offsets, received.Offsets);
        Assert.Null(RemoteLoaderProcess.Decode(line));
        Assert.Null(SafePointProbeNotice.Decode(RemoteLoaderProcess.Encode(RemoteLoadResult.Failed("no safe point"))));
    }

    [Fact]
    public void The_announcing_factory_tells_the_probe_before_it_makes_it()
    {
        var told = new StringWriter();
        string? toldWhenMade = null;
        var probes = SafePointProbeNotice.Announcing(told, (pid, path, offsets) =>
        {
            toldWhenMade = told.ToString();
            return (null, "refused");
        });

        var (probe, refused) = probes(77, "/lib/libc.so.6", [0x10, 0x20]);

        Assert.Null(probe);
        Assert.Equal("refused", refused);
        var notice = SafePointProbeNotice.Decode(toldWhenMade!.Trim());
        Assert.NotNull(notice);
        Assert.Equal((77, "/lib/libc.so.6"), (notice.Pid, notice.Path));
        Assert.Equal([0x10UL, 0x20UL], notice.Offsets);
    }

    [Fact]
    public void Taking_a_probe_out_registers_it_again_and_releases_it()
    {
        var made = new List<(int, string, ulong[])>();
        var probe = new CountingProbe();
        var notice = new SafePointProbeNotice(5, "/lib/libc.so.6", [0x30]);

        Assert.Null(notice.TakeOut((pid, path, offsets) => { made.Add((pid, path, offsets.ToArray())); return (probe, null); }));
        Assert.Equal("gone", notice.TakeOut((_, _, _) => (null, "gone")));

        var (madePid, madePath, madeOffsets) = Assert.Single(made);
        Assert.Equal((5, "/lib/libc.so.6"), (madePid, madePath));
        Assert.Equal([0x30UL], madeOffsets);
        Assert.Equal(1, probe.Disposed);
    }

    sealed class CountingProbe : ISafePointProbe
    {
        public int Disposed;
        public void Watch(int tid) { }
        public void Open(int signal) { }
        public void Close() { }
        public void Dispose() => Disposed++;
    }
}
