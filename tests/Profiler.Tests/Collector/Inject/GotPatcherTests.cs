using Profiler.Collectors.Linux.Inject;
using static Profiler.Tests.Collector.Inject.GotWorld;

namespace Profiler.Tests.Collector.Inject;

/// <summary>Writing and restoring slots through a memory made by hand: the order of the writes,
/// and what happens when a slot changes under the patcher or a write fails.</summary>
public sealed class GotPatcherTests
{
    const ulong AppBase = 0x5555_0000_0000, LibcBase = 0x7f00_0000_0000, SamplerBase = 0x7f30_0000_0000;
    const ulong LibcMalloc = LibcBase + 0x1100, LibcFree = LibcBase + 0x1200, LibcCalloc = LibcBase + 0x1300;
    const ulong AppMallocSlot = AppBase + Got, AppFreeSlot = AppBase + Got + 8, AppCallocSlot = AppBase + Got + 16;
    const ulong LibcMallocSlot = LibcBase + Got, LibcFreeSlot = LibcBase + Got + 8;
    const ulong LazyCallocStub = AppBase + Plt + 0x36;

    /// <summary>The sampler's function for each API: its own code, one address per function.</summary>
    static ulong Replacement(ResolvedSlot slot) => SamplerBase + 0x2000 + (ulong)slot.Slot.Api.Function * 0x10;

    static (GotWorld World, GotForwarding Forwarding, Dictionary<ulong, ulong> Before) Process()
    {
        var world = new GotWorld();
        world.Load(Image(App, [("malloc", SlotKind.JumpSlot, Got), ("free", SlotKind.JumpSlot, Got + 8), ("calloc", SlotKind.JumpSlot, Got + 16)]), AppBase);
        world.Load(Image(Libc, [("malloc", SlotKind.GlobDat, Got), ("free", SlotKind.GlobDat, Got + 8)],
            [("malloc", 0x1100), ("free", 0x1200), ("calloc", 0x1300)]), LibcBase);
        world.Load(Image(Sampler, []), SamplerBase);
        world.Words[AppMallocSlot] = LibcMalloc;
        world.Words[AppFreeSlot] = LibcFree;
        world.Words[AppCallocSlot] = LazyCallocStub;
        world.Words[LibcMallocSlot] = LibcMalloc;
        world.Words[LibcFreeSlot] = LibcFree;
        var plan = world.Plan();
        var forwarding = GotOriginals.Resolve(plan, new GotPatcher(world).Read(plan), GotOriginals.GuessLookupOrder(plan, App));
        return (world, forwarding, new Dictionary<ulong, ulong>(world.Words));
    }

    [Fact]
    public void Apply_writes_free_slots_first_and_restore_writes_allocation_slots_first_back_to_what_they_held()
    {
        var (world, forwarding, before) = Process();
        var patcher = new GotPatcher(world);

        var patch = patcher.Apply(forwarding, Replacement);

        Assert.Null(patch.Failure);
        Assert.Equal([AppFreeSlot, LibcFreeSlot, AppMallocSlot, AppCallocSlot, LibcMallocSlot], world.Writes.Select(w => w.Address));
        Assert.All(patch.Applied, s => Assert.Equal(Replacement(s.Slot), world.Words[s.Slot.Slot.Address]));
        world.Writes.Clear();

        var restore = patcher.Restore(patch);

        Assert.Equal([LibcMallocSlot, AppCallocSlot, AppMallocSlot, LibcFreeSlot, AppFreeSlot], world.Writes.Select(w => w.Address));
        Assert.Equal(5, restore.Restored.Count);
        Assert.Equal(before, world.Words);
        // The lazy slot goes back to its stub, to be bound by the dynamic linker on its next call.
        Assert.Equal(LazyCallocStub, world.Words[AppCallocSlot]);
    }

    [Fact]
    public void Restore_by_phase_keeps_the_free_slots_redirected_until_asked()
    {
        var (world, forwarding, before) = Process();
        var patcher = new GotPatcher(world);
        var patch = patcher.Apply(forwarding, Replacement);

        var allocations = patcher.Restore(patch, GotPhase.Allocations);

        Assert.Equal([LibcMallocSlot, AppCallocSlot, AppMallocSlot], allocations.Restored.Select(s => s.Slot.Slot.Address));
        Assert.NotEqual(before[AppFreeSlot], world.Words[AppFreeSlot]);
        Assert.NotEqual(before[LibcFreeSlot], world.Words[LibcFreeSlot]);

        var frees = patcher.Restore(patch, GotPhase.Frees);

        Assert.Equal([LibcFreeSlot, AppFreeSlot], frees.Restored.Select(s => s.Slot.Slot.Address));
        Assert.Equal(before, world.Words);
    }

    [Fact]
    public void A_lazy_slot_bound_between_read_and_write_is_redirected_and_restored_to_its_binding()
    {
        var (world, forwarding, _) = Process();
        // The program calls calloc for the first time while the patch runs.
        world.BeforeRead = address => { if (address != AppCallocSlot) return; world.Words[AppCallocSlot] = LibcCalloc; world.BeforeRead = null; };
        var patcher = new GotPatcher(world);

        var patch = patcher.Apply(forwarding, Replacement);

        var calloc = patch.Applied.Single(s => s.Slot.Slot.Address == AppCallocSlot);
        Assert.Equal((LibcCalloc, LibcCalloc), (calloc.Found, calloc.Slot.Target));
        patcher.Restore(patch);
        Assert.Equal(LibcCalloc, world.Words[AppCallocSlot]);
    }

    [Fact]
    public void A_slot_the_program_changed_since_it_was_read_is_not_written()
    {
        var (world, forwarding, _) = Process();
        world.Words[AppMallocSlot] = 0x1234_5000; // the program stored a function of its own

        var patch = new GotPatcher(world).Apply(forwarding, Replacement);

        Assert.DoesNotContain(world.Writes, w => w.Address == AppMallocSlot);
        Assert.Equal(0x1234_5000UL, world.Words[AppMallocSlot]);
        Assert.Contains("changed to 0x12345000 since it was read", Assert.Single(patch.Skipped).Reason);
        Assert.Equal(4, patch.Applied.Count);
    }

    [Fact]
    public void A_write_that_fails_abandons_the_patch_and_puts_back_everything_written()
    {
        var (world, forwarding, before) = Process();
        world.Unwritable.Add(AppCallocSlot);

        var patch = new GotPatcher(world).Apply(forwarding, Replacement);

        Assert.Contains("cannot be written", patch.Failure);
        Assert.Empty(patch.Applied);
        Assert.Equal(before, world.Words);
        Assert.Equal([AppFreeSlot, LibcFreeSlot, AppMallocSlot, AppMallocSlot, LibcFreeSlot, AppFreeSlot], world.Writes.Select(w => w.Address));
    }

    [Fact]
    public void Restore_leaves_alone_a_slot_the_program_rewrote_and_lost_slots_are_found()
    {
        var (world, forwarding, before) = Process();
        var patcher = new GotPatcher(world);
        var patch = patcher.Apply(forwarding, Replacement);
        world.Words[LibcMallocSlot] = LibcMalloc; // a late lazy binding (or the program) wrote over it

        Assert.Equal([LibcMallocSlot], patcher.Lost(patch).Select(s => s.Slot.Slot.Address));
        var restore = patcher.Restore(patch);

        Assert.Equal([LibcMallocSlot], restore.LeftAlone.Select(s => s.Slot.Slot.Address));
        Assert.Equal(4, restore.Restored.Count);
        Assert.Equal(before, world.Words);
    }
}
