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
}
