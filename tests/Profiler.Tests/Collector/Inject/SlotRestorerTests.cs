using Profiler.Collectors.Linux.Inject;
using static Profiler.Tests.Collector.Inject.GotWorld;

namespace Profiler.Tests.Collector.Inject;

/// <summary>Detaching from a process whose threads are slow to stop (a loaded machine) or cannot be
/// stopped (another tracer): the restore tries again with longer waits, and what it cannot put
/// back it says, never returning as if all were restored.</summary>
public sealed class SlotRestorerTests
{
    const int Pid = 4242;
    const ulong AppBase = 0x5555_0000_0000, LibcBase = 0x7f00_0000_0000, SamplerBase = 0x7f30_0000_0000;
    const ulong LibcMalloc = LibcBase + 0x1100, LibcFree = LibcBase + 0x1200;
    const ulong AppMallocSlot = AppBase + Got, AppFreeSlot = AppBase + Got + 8, LibcMallocSlot = LibcBase + Got, LibcFreeSlot = LibcBase + Got + 8;
    /// <summary>Table 0's entries, and table 1's malloc (another attach's table for the same allocator).</summary>
    const ulong MallocEntry = SamplerBase + Plt + 0x100, FreeEntry = SamplerBase + Plt + 0x200, OtherMallocEntry = SamplerBase + Plt + 0x900;
    static readonly Dictionary<ulong, ulong> Entries = new() { [MallocEntry] = LibcMalloc, [FreeEntry] = LibcFree, [OtherMallocEntry] = LibcMalloc };
    static readonly ulong[] AllocationSlots = [AppMallocSlot, LibcMallocSlot], FreeSlots = [AppFreeSlot, LibcFreeSlot];

    sealed class FakeTime { public TimeSpan Now; }

    /// <summary>Fails the tries <paramref name="fails"/> picks (numbered from 1 over the whole
    /// detach), each after waiting its bound out.</summary>
    sealed class FakeFreezer(Func<int, bool> fails, FakeTime time) : IThreadFreezer
    {
        public readonly List<TimeSpan> Bounds = [];
        public (T? Result, string? Failure) Frozen<T>(int pid, Func<T> action, TimeSpan bound)
        {
            Assert.Equal(Pid, pid);
            Bounds.Add(bound);
            if (!fails(Bounds.Count)) return (action(), null);
            time.Now += bound;
            return (default, $"thread {Pid + 1} of process {Pid} did not stop within {bound.TotalSeconds:0.#} s");
        }
    }

    /// <summary>The app's and libc's malloc and free slots, pointed at the sampler's table 0.</summary>
    static (GotWorld World, GotPatch Patch, Dictionary<ulong, ulong> Before) Attached()
    {
        var world = new GotWorld();
        world.Load(Image(App, [("malloc", SlotKind.JumpSlot, Got), ("free", SlotKind.JumpSlot, Got + 8)]), AppBase);
        world.Load(Image(Libc, [("malloc", SlotKind.GlobDat, Got), ("free", SlotKind.GlobDat, Got + 8)], [("malloc", 0x1100), ("free", 0x1200)]), LibcBase);
        world.Load(Image(Sampler, []), SamplerBase);
        foreach (ulong slot in AllocationSlots) world.Words[slot] = LibcMalloc;
        foreach (ulong slot in FreeSlots) world.Words[slot] = LibcFree;
        var before = new Dictionary<ulong, ulong>(world.Words);
        var plan = world.Plan();
        var forwarding = GotOriginals.Resolve(plan, new GotPatcher(world).Read(plan), GotOriginals.GuessLookupOrder(plan, App));
        var patch = new GotPatcher(world).Apply(forwarding, s => s.Slot.Symbol == "free" ? FreeEntry : MallocEntry);
        Assert.Null(patch.Failure);
        Assert.Equal(4, patch.Applied.Count);
        return (world, patch, before);
    }

    static SlotRestorer Restorer(GotWorld world, GotPatch patch, IThreadFreezer freezer, FakeTime time, Func<bool>? alive = null) =>
        new(Pid, world, freezer, patch, [], own =>
        {
            var plan = world.Plan();
            return LateSlots.Redirected(plan, new GotPatcher(world).Read(plan), Entries, own);
        }, alive ?? (() => true))
        {
            Clock = () => time.Now,
            Sleep = pause => time.Now += pause,
        };

    [Fact]
    public void Threads_slow_to_stop_are_waited_for_longer_on_each_try_until_every_slot_is_back()
    {
        var (world, patch, before) = Attached();
        var time = new FakeTime();
        var freezer = new FakeFreezer(n => n <= 2, time);

        string? left = Restorer(world, patch, freezer, time).Restore(TimeSpan.FromMilliseconds(200));

        Assert.Null(left);
        Assert.Equal(before, world.Words);
        // 2 s, then 4 s, then what is left of the 10 s; each later step starts again at 2 s.
        Assert.Equal([2, 4, 3.9, 2, 2, 2], freezer.Bounds.Select(b => Math.Round(b.TotalSeconds, 2)));
    }

    [Fact]
    public void Threads_that_never_stop_leave_every_slot_redirected_and_the_restore_says_so()
    {
        var (world, patch, _) = Attached();
        var time = new FakeTime();
        var freezer = new FakeFreezer(_ => true, time);

        string? left = Restorer(world, patch, freezer, time).Restore(TimeSpan.FromMilliseconds(200));

        Assert.Equal($"allocations definitions left redirected (thread {Pid + 1} of process {Pid} did not stop within 3.9 s)", left);
        Assert.True(time.Now >= SlotRestorer.Deadline, $"gave up after {time.Now}");
        // Frees stay redirected as long as allocations do: the free phase is not tried.
        Assert.Equal(3, freezer.Bounds.Count);
        Assert.All(AllocationSlots, s => Assert.Equal(MallocEntry, world.Words[s]));
        Assert.All(FreeSlots, s => Assert.Equal(FreeEntry, world.Words[s]));
    }

    [Fact]
    public void Free_slots_left_redirected_after_the_allocations_came_back_are_said()
    {
        // What a loaded machine did: the allocation phase stopped the threads, the free phase never did.
        var (world, patch, before) = Attached();
        var time = new FakeTime();
        var freezer = new FakeFreezer(n => n > 2, time);

        string? left = Restorer(world, patch, freezer, time).Restore(TimeSpan.FromMilliseconds(200));

        Assert.StartsWith("frees definitions left redirected (thread 4243 of process 4242 did not stop within ", left);
        Assert.All(AllocationSlots, s => Assert.Equal(before[s], world.Words[s]));
        Assert.All(FreeSlots, s => Assert.Equal(FreeEntry, world.Words[s]));
    }

    [Fact]
    public void A_process_that_ended_meanwhile_has_nothing_left_to_restore()
    {
        var (world, patch, _) = Attached();
        var time = new FakeTime();

        Assert.Null(Restorer(world, patch, new FakeFreezer(_ => true, time), time, alive: () => false).Restore(TimeSpan.Zero));
        Assert.Equal(TimeSpan.FromSeconds(2), time.Now);
    }

    [Fact]
    public void A_slot_of_the_attach_now_holding_another_sampler_entry_goes_back_to_the_function_that_entry_forwards_to()
    {
        var (world, patch, before) = Attached();
        world.Words[LibcMallocSlot] = OtherMallocEntry; // bound again through another table's definition
        var time = new FakeTime();

        string? left = Restorer(world, patch, new FakeFreezer(_ => false, time), time).Restore(TimeSpan.Zero);

        Assert.Null(left);
        Assert.Equal(before, world.Words);
    }

    [Fact]
    public void A_slot_that_cannot_be_written_back_is_said()
    {
        var (world, patch, _) = Attached();
        world.Unwritable.Add(AppFreeSlot);
        var time = new FakeTime();

        string? left = Restorer(world, patch, new FakeFreezer(_ => false, time), time).Restore(TimeSpan.Zero);

        Assert.Equal("1 frees slots could not be restored", left);
        Assert.Equal(FreeEntry, world.Words[AppFreeSlot]);
    }
}
