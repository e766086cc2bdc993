using Profiler.Collectors.Linux.Inject;
using Profiler.Collectors.Linux.Preload;
using static Profiler.Tests.Collector.Inject.GotWorld;

namespace Profiler.Tests.Collector.Inject;

/// <summary>Which forwarding table serves which slot, and what is written to set them up.</summary>
public sealed class InjectPlannerTests
{
    const ulong AppBase = 0x5555_0000_0000, LibcBase = 0x7f00_0000_0000, JemallocBase = 0x7f10_0000_0000;
    const ulong LibcMalloc = LibcBase + 0x1100, LibcFree = LibcBase + 0x1200, LibcRealloc = LibcBase + 0x1400;
    const ulong JeMalloc = JemallocBase + 0x1100, JeFree = JemallocBase + 0x1200;
    const ulong Usable = 0x9990, Mallinfo = 0x9991, Mallctl = 0x9992;
    static readonly PreloadHeader Fresh = new(PreloadState.Version, 524288, 0, 0, 0, PreloadFlags.Injected | PreloadFlags.BaseUnknown, 4);
    static readonly IReadOnlyList<ExistingTable> Empty = [.. Enumerable.Range(0, 4).Select(_ => new ExistingTable(ForwardKind.None, new ulong[15]))];

    /// <summary>An app whose malloc and free go to libjemalloc, and whose realloc goes to glibc.</summary>
    static (GotPlan Plan, GotForwarding Forwarding) MixedProcess()
    {
        var world = new GotWorld();
        world.Load(Image(App, [("malloc", SlotKind.JumpSlot, Got), ("free", SlotKind.JumpSlot, Got + 8), ("realloc", SlotKind.JumpSlot, Got + 16)]), AppBase);
        world.Load(Image(Libc, [], [("malloc", 0x1100), ("free", 0x1200), ("realloc", 0x1400)]), LibcBase);
        world.Load(Image(LibJemalloc, [], [("malloc", 0x1100), ("free", 0x1200)]), JemallocBase);
        world.Words[AppBase + Got] = JeMalloc;
        world.Words[AppBase + Got + 8] = JeFree;
        world.Words[AppBase + Got + 16] = LibcRealloc;
        var plan = world.Plan();
        var order = new[] { App, LibJemalloc, Libc }.Select(p => plan.Modules.First(m => m.Path == p)).ToList();
        return (plan, GotOriginals.Resolve(plan, new GotPatcher(world).Read(plan), order));
    }

    static ulong? Helper(ModuleInstance module, string name) => (module.Path, name) switch
    {
        (_, "malloc_usable_size") => Usable,
        (Libc, "mallinfo2") => Mallinfo,
        (LibJemalloc, "mallctl") => Mallctl,
        _ => null,
    };

    [Fact]
    public void Each_allocator_gets_its_own_table_of_its_own_functions_and_each_slot_the_table_of_the_function_it_pointed_at()
    {
        var (plan, forwarding) = MixedProcess();

        var inject = InjectPlanner.Plan(plan, forwarding, Empty, Fresh, 1, Helper);

        Assert.Equal(2, inject.Tables.Count);
        var glibc = inject.Tables.Single(t => t.Functions.Kind == ForwardKind.Glibc);
        var jemalloc = inject.Tables.Single(t => t.Functions.Kind == ForwardKind.Jemalloc);
        Assert.Equal(Libc, glibc.Module);
        Assert.Equal(LibJemalloc, jemalloc.Module);
        // glibc's table holds all of glibc's functions (its realloc serves reallocarray's resize).
        Assert.Equal(LibcMalloc, glibc.Functions.Functions["malloc"]);
        Assert.Equal(LibcRealloc, glibc.Functions.Functions["realloc"]);
        Assert.Equal((Usable, Mallinfo, 0UL), (glibc.Functions.UsableSize, glibc.Functions.Mallinfo2, glibc.Functions.Mallctl));
        Assert.Equal(JeMalloc, jemalloc.Functions.Functions["malloc"]);
        Assert.Equal((Usable, 0UL, Mallctl), (jemalloc.Functions.UsableSize, jemalloc.Functions.Mallinfo2, jemalloc.Functions.Mallctl));
        // Two slots lead to libjemalloc, one to glibc: the bigger allocator is served first.
        Assert.Equal(0, jemalloc.Table);
        Assert.Equal(1, glibc.Table);
        string Entry(string module, string symbol) => inject.EntryPoint(forwarding.Apply.Single(s => s.Slot.Module.Path == module && s.Slot.Symbol == symbol));
        Assert.Equal("memprof_inject0_malloc", Entry(App, "malloc"));
        Assert.Equal("memprof_inject0_free", Entry(App, "free"));
        Assert.Equal("memprof_inject1_realloc", Entry(App, "realloc"));
    }

    [Fact]
    public void Every_tables_pointers_come_before_its_kind_and_the_request_comes_last_rate_then_generation()
    {
        var (plan, forwarding) = MixedProcess();

        var writes = InjectPlanner.Plan(plan, forwarding, Empty, Fresh, 4096, Helper).Writes;

        var kinds = new[] { 0, 1 }.Select(t => writes.ToList().FindIndex(w => w.Offset == InjectLibrary.TableOffset(t))).ToList();
        for (int t = 0; t < 2; t++)
        {
            int start = InjectLibrary.TableOffset(t), end = start + PreloadState.TableSize;
            var pointers = writes.Select((w, i) => (w, i)).Where(x => x.w.Offset > start && x.w.Offset < end).Select(x => x.i).ToList();
            Assert.NotEmpty(pointers);
            Assert.True(pointers.Max() < kinds[t], $"table {t}'s kind is written before one of its pointers");
        }
        Assert.Equal(new StateWrite(PreloadState.RequestedRateOffset, 4096), writes[^2]);
        Assert.Equal(new StateWrite(PreloadState.RequestedGenerationOffset, 1), writes[^1]);
    }

    [Fact]
    public void A_leftover_librarys_table_with_the_same_functions_is_reused_unwritten_and_a_used_one_is_never_overwritten()
    {
        var (plan, forwarding) = MixedProcess();
        var first = InjectPlanner.Plan(plan, forwarding, Empty, Fresh, 1, Helper);
        var glibc = first.Tables.Single(t => t.Functions.Kind == ForwardKind.Glibc).Functions;
        // An earlier attach left glibc's table in slot 2, and slot 0 holds some other allocator.
        var existing = Empty.ToArray();
        existing[0] = new ExistingTable(ForwardKind.Other, [0x1234, .. new ulong[14]]);
        existing[2] = new ExistingTable(ForwardKind.Glibc, [.. InjectLibrary.Functions.Select(f => glibc.Functions.GetValueOrDefault(f))]);
        var leftover = Fresh with { AppliedGeneration = 3, RequestedGeneration = 3, Rate = 999 };

        var again = InjectPlanner.Plan(plan, forwarding, existing, leftover, 1, Helper);

        var reused = again.Tables.Single(t => t.Functions.Kind == ForwardKind.Glibc);
        Assert.Equal((2, true), (reused.Table, reused.Reused));
        var fresh = again.Tables.Single(t => t.Functions.Kind == ForwardKind.Jemalloc);
        Assert.Equal((1, false), (fresh.Table, fresh.Reused));
        Assert.Contains(again.Writes, w => w.Offset == InjectLibrary.TableOffset(1));
        static int Lo(int t) => InjectLibrary.TableOffset(t);
        static int Hi(int t) => InjectLibrary.TableOffset(t) + PreloadState.TableSize;
        Assert.DoesNotContain(again.Writes, w => w.Offset >= Lo(0) && w.Offset < Hi(0));
        Assert.DoesNotContain(again.Writes, w => w.Offset >= Lo(2) && w.Offset < Hi(2));
        Assert.Equal(new StateWrite(PreloadState.RequestedGenerationOffset, 4), again.Writes[^1]);
    }

    [Fact]
    public void With_no_table_left_the_smaller_allocators_slots_are_skipped_not_redirected()
    {
        var (plan, forwarding) = MixedProcess();
        var full = Empty.ToArray();
        for (int t = 1; t < 4; t++) full[t] = new ExistingTable(ForwardKind.Other, [(ulong)t, .. new ulong[14]]);

        var inject = InjectPlanner.Plan(plan, forwarding, full, Fresh, 1, Helper);

        Assert.Equal(ForwardKind.Jemalloc, Assert.Single(inject.Tables).Functions.Kind);
        Assert.Equal("realloc", Assert.Single(inject.Skipped).Slot!.Symbol);
        Assert.Contains("no forwarding table left", inject.Skipped[0].Reason);
        Assert.Equal(2, inject.SlotTable.Count);
    }

    [Theory]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6", ForwardKind.Glibc)]
    [InlineData("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", ForwardKind.Jemalloc)]
    [InlineData("/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4", ForwardKind.Other)]
    [InlineData("/usr/bin/app", ForwardKind.Other)]
    public void The_kind_of_an_allocator_follows_its_module(string path, ForwardKind kind) =>
        Assert.Equal(kind, InjectPlanner.KindOf(path));

    [Fact]
    public void Entries_of_filled_tables_lead_back_to_the_functions_they_forward_to()
    {
        // Table 2 filled by an earlier attach (glibc's malloc and free; nothing for the rest), the others empty.
        var existing = Empty.ToArray();
        existing[2] = new ExistingTable(ForwardKind.Glibc, [.. InjectLibrary.Functions.Select(f => f switch { "malloc" => LibcMalloc, "free" => LibcFree, _ => 0UL })]);
        const ulong SamplerEntries = 0x7f30_0000_1000;
        ulong? Entry(int table, string function) => SamplerEntries + (ulong)table * 0x1000 + (ulong)InjectLibrary.Functions.ToList().IndexOf(function) * 0x10;

        var targets = InjectPlanner.EntryTargets(existing, Entry);

        Assert.Equal(new Dictionary<ulong, ulong> { [Entry(2, "malloc")!.Value] = LibcMalloc, [Entry(2, "free")!.Value] = LibcFree }, targets);
        // A library without an entry for a function has nothing to lead back from.
        Assert.Empty(InjectPlanner.EntryTargets(existing, (_, _) => null));
    }
}
