using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Ring;
using Profiler.Collectors.Linux.Session;
using Profiler.Collectors.Linux.Unwinding;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using static Profiler.Tests.Collector.Session.FakeWorld;

namespace Profiler.Tests.Collector.Session;

/// <summary>A shared ring's event whose stack the process unwound with CFI itself is taken as it
/// is: complete exactly when the process says so, with no frame-pointer check or unwinding of
/// memprof's own.</summary>
public sealed class InProcessStackTests
{
    const int Pid = 100;
    static readonly ulong[] Frames = [PreloadBase + 0x100, LibcBase + 0x1000, AppBase + 0x1234, AppBase + 0x2000];

    /// <summary>Says no frame keeps a frame pointer and counts what it is asked.</summary>
    sealed class CountingUnwinder : IStackUnwinder
    {
        public int Calls;
        public void SetMaps(int pid, IReadOnlyList<MappedModule> modules, (ulong Start, ulong End)? uprobeTrampoline) { }
        public int Unwind(int pid, ulong ip, ulong sp, ulong bp, ReadOnlySpan<byte> stack, Span<ulong> pcs, out bool truncated, out bool leftMappings)
        {
            Calls++;
            (truncated, leftMappings) = (true, false);
            return 0;
        }
        public bool IsFramePointerChain(int pid, ReadOnlySpan<ulong> pcs)
        {
            Calls++;
            return false;
        }
        public IReadOnlyList<string> Warnings => [];
    }

    static (FakeWorld World, SessionCore Core, CountingUnwinder Unwinder) Launched()
    {
        var world = new FakeWorld();
        world.MapFiles(Pid, App, Libc, Preload);
        var unwinder = new CountingUnwinder();
        var core = new SessionCore(new SessionPorts(world, world, world, world, world, unwinder, null), 1, () => world.Now);
        core.Start(Pid, 0, launched: false);
        return (world, core, unwinder);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_unwound_stack_is_complete_exactly_when_the_process_says_so(bool complete)
    {
        var (world, core, unwinder) = Launched();
        uint flags = BpfEventHeader.NewSampled | RingLayout.EventUnwound | (complete ? BpfEventHeader.StackComplete : 0);
        core.OnRecord(KernelRecord.Make(BpfFunction.Malloc, Pid, 7, 0xa000, 64, flags: flags, frames: Frames));

        var stack = Assert.Single(world.Logged<Stack>());
        Assert.Equal(Frames, stack.Addresses);
        Assert.Equal(!complete, stack.Truncated);
        Assert.Equal(0, unwinder.Calls);
        Assert.Equal(stack.Id, Assert.Single(world.Logged<RawEvent>()).StackId);
    }

    [Fact]
    public void A_frame_pointer_walk_flagged_complete_is_still_checked_frame_by_frame()
    {
        // The contrast: without the flag the same record is a frame-pointer walk, whose end proves
        // nothing through frames that keep no frame pointer.
        var (world, core, unwinder) = Launched();
        core.OnRecord(KernelRecord.Make(BpfFunction.Malloc, Pid, 7, 0xa000, 64,
            flags: BpfEventHeader.NewSampled | BpfEventHeader.StackComplete, frames: Frames));

        Assert.True(Assert.Single(world.Logged<Stack>()).Truncated);
        Assert.Equal(1, unwinder.Calls);
    }
}
