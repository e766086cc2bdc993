using Profiler.Collectors.Linux;

namespace Profiler.Tests.Collector;

public sealed class EventDecoderTests
{
    [Fact]
    public void The_direct_caller_is_inserted_after_the_leaf()
    {
        var output = new ulong[8];
        int n = EventDecoder.RestoreCaller([0x10, 0x30, 0x40], caller: 0x20, output);
        Assert.Equal([0x10UL, 0x20, 0x30, 0x40], output[..n]);
    }

    [Fact]
    public void A_caller_the_kernel_already_added_is_not_doubled()
    {
        var output = new ulong[8];
        int n = EventDecoder.RestoreCaller([0x10, 0x20, 0x30], caller: 0x20, output);
        Assert.Equal([0x10UL, 0x20, 0x30], output[..n]);
    }

    [Fact]
    public void An_empty_stack_stays_empty()
    {
        Assert.Equal(0, EventDecoder.RestoreCaller([], 0x20, new ulong[4]));
    }
}
