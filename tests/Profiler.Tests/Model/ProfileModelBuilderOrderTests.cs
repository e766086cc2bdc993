using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Model;

/// <summary>The model's events are in time order, equal times in recording order, whether the
/// recording was already in order (the usual case, no sort) or not.</summary>
public sealed class ProfileModelBuilderOrderTests
{
    sealed class NoSymbols : IFrameResolver
    {
        public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset) => [];
    }

    static RawRecording Recording(params (EventKind Kind, long Time, ulong Address)[] events)
    {
        var columns = new EventColumns();
        foreach (var (kind, time, address) in events)
            columns.Add(new RawEvent(kind, time, 1, 1, address, 8, 8, 0, AllocFunction.Malloc));
        columns.TrimExcess();
        return new RawRecording
        {
            Header = new Header { TargetPid = 1 }, Modules = [], Threads = [], Stacks = new RawStackTable(),
            Events = columns, Exits = [], Warnings = [],
        };
    }

    [Fact]
    public void Out_of_order_events_are_sorted_stably()
    {
        var model = ProfileModelBuilder.Build(Recording(
            (EventKind.Alloc, 30, 0xa), (EventKind.Free, 10, 0xb), (EventKind.Alloc, 10, 0xc), (EventKind.Free, 20, 0xa)), new NoSymbols());
        Assert.Equal([10L, 10, 20, 30], model.Events.TimeNanos);
        Assert.Equal([0xbUL, 0xc, 0xa, 0xa], model.Events.Address);
        Assert.Equal([EventKind.Free, EventKind.Alloc, EventKind.Free, EventKind.Alloc], model.Events.Kind);
    }

    [Fact]
    public void Events_already_in_order_keep_their_order()
    {
        var raw = Recording((EventKind.Alloc, 5, 0xa), (EventKind.Alloc, 5, 0xb), (EventKind.Free, 9, 0xa));
        var model = ProfileModelBuilder.Build(raw, new NoSymbols());
        Assert.Equal([5L, 5, 9], model.Events.TimeNanos);
        Assert.Equal([0xaUL, 0xb, 0xa], model.Events.Address);
    }
}
