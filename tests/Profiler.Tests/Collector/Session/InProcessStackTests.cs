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

    const uint Unwound = BpfEventHeader.NewSampled | RingLayout.EventUnwound | BpfEventHeader.StackComplete;

    [Fact]
    public void A_stack_named_once_is_the_stack_of_every_event_that_names_it()
    {
        var (world, core, _) = Launched();
        ulong name = 3UL << 32 | 1;
        core.OnRecord(KernelRecord.Make(BpfFunction.Malloc, Pid, 7, 0xa000, 64, sequence: name, flags: Unwound | RingLayout.EventStackDefine, frames: Frames));
        core.OnRecord(KernelRecord.Make(BpfFunction.Malloc, Pid, 7, 0xb000, 32, sequence: name, flags: Unwound | RingLayout.EventStackRef));
        core.OnRecord(KernelRecord.Make(BpfFunction.Free, Pid, 7, 0xa000, sequence: name, flags: RingLayout.EventUnwound | BpfEventHeader.StackComplete | RingLayout.EventStackRef));

        var stack = Assert.Single(world.Logged<Stack>());
        Assert.Equal(Frames, stack.Addresses);
        var events = world.Logged<RawEvent>().ToList();
        Assert.Equal([(EventKind.Alloc, 0xa000UL), (EventKind.Alloc, 0xb000UL), (EventKind.Free, 0xa000UL)], events.Select(e => (e.Kind, e.Address)));
        Assert.All(events, e => Assert.Equal(stack.Id, e.StackId));
        Assert.Equal(0, core.UnknownRingStacks);
    }

    [Fact]
    public void Names_of_different_rings_do_not_mix_and_an_unknown_name_is_counted()
    {
        var (world, core, _) = Launched();
        ulong[] other = [AppBase + 0x3000, AppBase + 0x2000];
        core.OnRecord(KernelRecord.Make(BpfFunction.Malloc, Pid, 7, 0xa000, 64, sequence: 1UL << 32 | 1, flags: Unwound | RingLayout.EventStackDefine, frames: Frames));
        core.OnRecord(KernelRecord.Make(BpfFunction.Malloc, Pid, 8, 0xb000, 64, sequence: 2UL << 32 | 1, flags: Unwound | RingLayout.EventStackDefine, frames: other));
        core.OnRecord(KernelRecord.Make(BpfFunction.Malloc, Pid, 8, 0xc000, 16, sequence: 2UL << 32 | 1, flags: Unwound | RingLayout.EventStackRef));
        core.OnRecord(KernelRecord.Make(BpfFunction.Malloc, Pid, 8, 0xd000, 16, sequence: 2UL << 32 | 2, flags: Unwound | RingLayout.EventStackRef));

        var stacks = world.Logged<Stack>().ToDictionary(s => s.Id, s => s.Addresses.ToArray());
        var events = world.Logged<RawEvent>().ToList();
        Assert.Equal(Frames, stacks[events[0].StackId]);
        Assert.Equal(other, stacks[events[1].StackId]);
        Assert.Equal(other, stacks[events[2].StackId]);
        Assert.Equal(0UL, events[3].StackId);
        Assert.Equal(1, core.UnknownRingStacks);
    }

    [Fact]
    public void A_named_stack_does_not_take_a_kernel_stack_waiting_for_its_thread()
    {
        // A kernel stack sent ahead of a marker's allocation waits under the thread's id; a ring
        // event's Sequence is a stack's name, not the kernel's pairing number.
        var (world, core, _) = Launched();
        ulong[] kernelFrames = [AppBase + 0x4000, AppBase + 0x2000];
        core.OnRecord(KernelRecord.Stack(Pid, 7, 5, kernelFrames));
        core.OnRecord(KernelRecord.Make(BpfFunction.Malloc, Pid, 7, 0xa000, 64, sequence: 5, flags: Unwound | RingLayout.EventStackDefine, frames: Frames));
        core.OnRecord(KernelRecord.Malloc(Pid, 7, 0xb000, 32, sequence: 5));

        var stacks = world.Logged<Stack>().ToDictionary(s => s.Id, s => s.Addresses.ToArray());
        var events = world.Logged<RawEvent>().ToList();
        Assert.Equal(Frames, stacks[events[0].StackId]);
        Assert.Equal(kernelFrames, stacks[events[1].StackId]);
    }
}
