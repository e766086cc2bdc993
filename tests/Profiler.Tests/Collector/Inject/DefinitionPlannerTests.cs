using Profiler.Collectors.Linux.Inject;
using Profiler.Collectors.Linux.Preload;
using static Profiler.Tests.Collector.Inject.GotWorld;

namespace Profiler.Tests.Collector.Inject;

/// <summary>Redirecting the allocators' definitions so that libraries loaded after the attach bind
/// to the sampler, and finding their slots again at detach.</summary>
public sealed class DefinitionPlannerTests
{
    const ulong AppBase = 0x5555_0000_0000, LibcBase = 0x7f00_0000_0000, JemallocBase = 0x7f10_0000_0000;
    const ulong LibcMalloc = LibcBase + 0x1100, LibcFree = LibcBase + 0x1200, LibcRealloc = LibcBase + 0x1400;
    const ulong JeMalloc = JemallocBase + 0x1100, JeFree = JemallocBase + 0x1200;
    /// <summary>The sampler is mapped below libc here, so entry - bias wraps around.</summary>
    const ulong SamplerEntries = 0x7e00_0000_0000;
    static readonly PreloadHeader Fresh = new(PreloadState.Version, 524288, 0, 0, 0, PreloadFlags.Injected | PreloadFlags.BaseUnknown, 4);
    static readonly IReadOnlyList<ExistingTable> Empty = [.. Enumerable.Range(0, 4).Select(_ => new ExistingTable(ForwardKind.None, new ulong[15]))];

    static ulong? Entry(int table, string function) =>
        SamplerEntries + (ulong)table * 0x1000 + (ulong)InjectLibrary.Functions.ToList().IndexOf(function) * 0x10;

    /// <summary>An app whose malloc and free go to libjemalloc and whose realloc goes to glibc.</summary>
    static (GotWorld World, GotPlan Plan, InjectPlan Inject) MixedProcess(bool symbolTables = true)
    {
        var world = new GotWorld();
        world.Load(Image(App, [("malloc", SlotKind.JumpSlot, Got), ("free", SlotKind.JumpSlot, Got + 8), ("realloc", SlotKind.JumpSlot, Got + 16)]), AppBase);
        world.Load(Image(Libc, [], [("malloc", 0x1100), ("free", 0x1200), ("realloc", 0x1400)], symbolTable: symbolTables), LibcBase);
        world.Load(Image(LibJemalloc, [], [("malloc", 0x1100), ("free", 0x1200)], symbolTable: symbolTables), JemallocBase);
        world.Words[AppBase + Got] = JeMalloc;
        world.Words[AppBase + Got + 8] = JeFree;
        world.Words[AppBase + Got + 16] = LibcRealloc;
        for (int i = 0; i < 3; i++) world.Words[LibcBase + ValueWord(i)] = new ulong[] { 0x1100, 0x1200, 0x1400 }[i];
        for (int i = 0; i < 2; i++) world.Words[JemallocBase + ValueWord(i)] = new ulong[] { 0x1100, 0x1200 }[i];
        var plan = world.Plan();
        var order = new[] { App, LibJemalloc, Libc }.Select(p => plan.Modules.First(m => m.Path == p)).ToList();
        var forwarding = GotOriginals.Resolve(plan, new GotPatcher(world).Read(plan), order);
        return (world, plan, InjectPlanner.Plan(plan, forwarding, Empty, Fresh, 1, (_, _) => null));
    }

    [Fact]
    public void Every_definition_a_table_forwards_to_is_pointed_at_that_tables_entry_frees_first()
    {
        var (world, plan, inject) = MixedProcess();

        var (apply, skipped) = DefinitionPlanner.Plan(plan, inject.Tables, Entry);

        Assert.Empty(skipped);
        int je = inject.Tables.Single(t => t.Module == LibJemalloc).Table, glibc = inject.Tables.Single(t => t.Module == Libc).Table;
        Assert.Equal(
            [
                (LibJemalloc, "free", JeFree, Entry(je, "free")!.Value), (Libc, "free", LibcFree, Entry(glibc, "free")!.Value),
                (LibJemalloc, "malloc", JeMalloc, Entry(je, "malloc")!.Value), (Libc, "malloc", LibcMalloc, Entry(glibc, "malloc")!.Value),
                (Libc, "realloc", LibcRealloc, Entry(glibc, "realloc")!.Value),
            ],
            apply.Select(d => (d.Module.Path, d.Symbol, d.Function, d.Entry)).OrderBy(d => d.Symbol != "free").ThenBy(d => d.Symbol).ThenBy(d => d.Path != LibJemalloc));
        Assert.Equal(2, apply.TakeWhile(d => d.Phase == GotPhase.Frees).Count());
        foreach (var d in apply)
        {
            // What the dynamic linker computes, load bias + st_value, is the entry (modulo 2^64).
            Assert.Equal(d.Entry, unchecked(d.Module.LoadBias + d.Written));
            Assert.Equal(d.Function, d.Module.LoadBias + d.Found);
            // The word is the symbol's st_value as the process holds it.
            Assert.Equal(d.Found, world.Words[d.Address]);
        }
    }

    [Fact]
    public void A_file_without_section_headers_is_skipped_with_the_reason()
    {
        var (_, plan, inject) = MixedProcess(symbolTables: false);

        var (apply, skipped) = DefinitionPlanner.Plan(plan, inject.Tables, Entry);

        Assert.Empty(apply);
        Assert.Contains(skipped, s => s.Module == Libc && s.Reason == "malloc: its symbol table cannot be found (no section headers)");
    }

    [Fact]
    public void Redirecting_writes_frees_first_takes_over_a_leftover_redirection_and_leaves_a_changed_word()
    {
        var (world, plan, inject) = MixedProcess();
        var (apply, _) = DefinitionPlanner.Plan(plan, inject.Tables, Entry);
        var leftover = apply.Single(d => d is { Symbol: "realloc" });
        world.Words[leftover.Address] = leftover.Written;
        var changed = apply.Single(d => d is { Symbol: "malloc", Module.Path: LibJemalloc });
        world.Words[changed.Address] = 0x4242;

        var patch = new DefinitionPatcher(world).Apply(apply);

        Assert.Null(patch.Failure);
        Assert.Equal(4, patch.Applied.Count);
        Assert.Contains(leftover, patch.Applied);
        Assert.Equal("libjemalloc.so.2: malloc: st_value is 0x4242, not the file's 0x1100", $"{Path.GetFileName(patch.Skipped.Single().Module)}: {patch.Skipped.Single().Reason}");
        Assert.Equal(["free", "free", "malloc"], world.Writes.Select(w => apply.Single(d => d.Address == w.Address).Symbol));
        Assert.All(patch.Applied, d => Assert.Equal(d.Written, world.Words[d.Address]));

        world.Writes.Clear();
        var allocations = new DefinitionPatcher(world).Restore(patch.Applied, GotPhase.Allocations);
        Assert.Equal(["realloc", "malloc"], allocations.Restored.Select(d => d.Symbol).Order().Reverse());
        Assert.All(patch.Applied.Where(d => d.Phase == GotPhase.Frees), d => Assert.Equal(d.Written, world.Words[d.Address]));
        new DefinitionPatcher(world).Restore(patch.Applied, GotPhase.Frees);
        Assert.All(patch.Applied, d => Assert.Equal(d.Found, world.Words[d.Address]));
        Assert.Equal(0x4242UL, world.Words[changed.Address]);
    }

    [Fact]
    public void A_write_that_fails_puts_back_every_definition_written_before_it()
    {
        var (world, plan, inject) = MixedProcess();
        var (apply, _) = DefinitionPlanner.Plan(plan, inject.Tables, Entry);
        world.Unwritable.Add(apply.First(d => d.Phase == GotPhase.Allocations).Address);

        var patch = new DefinitionPatcher(world).Apply(apply);

        Assert.StartsWith("libjemalloc.so.2: malloc definition at 0x", patch.Failure);
        Assert.EndsWith(" cannot be written", patch.Failure);
        Assert.Empty(patch.Applied);
        Assert.All(apply, d => Assert.Equal(d.Found, world.Words[d.Address]));
    }

    [Fact]
    public void Slots_bound_to_an_entry_after_the_attach_are_found_with_the_function_they_go_back_to()
    {
        var world = new GotWorld();
        const ulong LateBase = 0x7f20_0000_0000;
        world.Load(Image(App, [("malloc", SlotKind.JumpSlot, Got)]), AppBase);
        world.Load(Image("/opt/plugins/libplugin.so", [("malloc", SlotKind.GlobDat, Got), ("free", SlotKind.JumpSlot, Got + 8), ("calloc", SlotKind.JumpSlot, Got + 16)]), LateBase);
        ulong mallocEntry = Entry(0, "malloc")!.Value, freeEntry = Entry(0, "free")!.Value;
        world.Words[AppBase + Got] = mallocEntry;         // the attach's own slot
        world.Words[LateBase + Got] = mallocEntry;        // bound at the plugin's load
        world.Words[LateBase + Got + 8] = freeEntry;
        world.Words[LateBase + Got + 16] = LibcBase + 0x1300; // bound before the attach, or to another allocator
        var entries = new Dictionary<ulong, ulong> { [mallocEntry] = LibcMalloc, [freeEntry] = LibcFree };
        var plan = world.Plan();

        var late = LateSlots.Find(plan, new GotPatcher(world).Read(plan), entries, new HashSet<ulong> { AppBase + Got });

        Assert.Equal([(LateBase + Got, LibcMalloc, mallocEntry, GotPhase.Allocations), (LateBase + Got + 8, LibcFree, freeEntry, GotPhase.Frees)],
            late.Select(s => (s.Slot.Slot.Address, s.Found, s.Written, s.Phase)).OrderBy(s => s.Address));
        var restored = new GotPatcher(world).Restore(new GotPatch(late, [], null));
        Assert.Equal(2, restored.Restored.Count);
        Assert.Equal((LibcMalloc, LibcFree, mallocEntry), (world.Words[LateBase + Got], world.Words[LateBase + Got + 8], world.Words[AppBase + Got]));
    }
}
