using Profiler.Collectors.Linux.Inject;
using static Profiler.Tests.Collector.Inject.GotWorld;

namespace Profiler.Tests.Collector.Inject;

/// <summary>What each slot pointed at before, which is where the sampler forwards.</summary>
public sealed class GotOriginalsTests
{
    const ulong AppBase = 0x5555_0000_0000, LibcBase = 0x7f00_0000_0000, JemallocBase = 0x7f10_0000_0000;
    const ulong SamplerBase = 0x7f30_0000_0000;
    const ulong LibcMalloc = LibcBase + 0x1100, LibcFree = LibcBase + 0x1200, LibcAligned = LibcBase + 0x1300;
    const ulong JeMalloc = JemallocBase + 0x1100, JeFree = JemallocBase + 0x1200, JeAligned = JemallocBase + 0x1300;
    /// <summary>The app's PLT entries: a lazy slot's first value, and (the app not being PIE) the
    /// canonical address other modules' slots for the same function are bound to.</summary>
    const ulong AppPltMalloc = AppBase + Plt + 0x16, AppPltFree = AppBase + Plt + 0x26;

    static readonly (string, ulong)[] LibcExports = [("malloc", 0x1100), ("free", 0x1200), ("aligned_alloc", 0x1300)];

    static GotWorld GlibcProcess()
    {
        var world = new GotWorld();
        world.Load(Image(App, [("malloc", SlotKind.JumpSlot, Got), ("free", SlotKind.JumpSlot, Got + 8), ("aligned_alloc", SlotKind.JumpSlot, Got + 16)]), AppBase);
        world.Load(Image(Libc, [("malloc", SlotKind.GlobDat, Got), ("free", SlotKind.GlobDat, Got + 8)], LibcExports), LibcBase);
        world.Load(Image(Sampler, [], [("malloc", 0x1100), ("free", 0x1200)]), SamplerBase);
        return world;
    }

    static GotForwarding Resolve(GotWorld world, params string[] order)
    {
        var plan = world.Plan();
        var lookup = order.Length == 0 ? GotOriginals.GuessLookupOrder(plan, App) : order.Select(p => plan.Modules.First(m => m.Path == p)).ToList();
        return GotOriginals.Resolve(plan, new GotPatcher(world).Read(plan), lookup);
    }

    static ResolvedSlot SlotOf(GotForwarding forwarding, string path, string symbol) =>
        forwarding.Apply.Single(s => s.Slot.Module.Path == path && s.Slot.Symbol == symbol);

    [Fact]
    public void A_bound_slot_forwards_where_it_pointed()
    {
        var world = GlibcProcess();
        world.Words[AppBase + Got] = LibcMalloc;
        world.Words[AppBase + Got + 8] = LibcFree;
        world.Words[AppBase + Got + 16] = LibcAligned;
        world.Words[LibcBase + Got] = LibcMalloc;
        world.Words[LibcBase + Got + 8] = LibcFree;

        var forwarding = Resolve(world);

        Assert.Equal(5, forwarding.Apply.Count);
        Assert.All(forwarding.Apply, s => Assert.True(s.Bound));
        Assert.Equal(new Dictionary<string, ulong> { ["malloc"] = LibcMalloc, ["free"] = LibcFree, ["aligned_alloc"] = LibcAligned },
            forwarding.Targets);
        Assert.Empty(forwarding.Skipped);
    }

    [Fact]
    public void A_lazy_slot_still_on_its_plt_stub_forwards_to_the_definition_found_by_name_and_restores_to_the_stub()
    {
        var world = GlibcProcess();
        world.Words[AppBase + Got] = AppPltMalloc;
        world.Words[AppBase + Got + 8] = AppPltFree;
        world.Words[AppBase + Got + 16] = AppBase + Plt + 0x36;
        world.Words[LibcBase + Got] = LibcMalloc;
        world.Words[LibcBase + Got + 8] = LibcFree;

        var forwarding = Resolve(world);

        var malloc = SlotOf(forwarding, App, "malloc");
        Assert.Equal((AppPltMalloc, LibcMalloc, false), (malloc.Found, malloc.Target, malloc.Bound));
        // Nobody bound aligned_alloc yet: the lookup finds libc's.
        Assert.Equal(LibcAligned, SlotOf(forwarding, App, "aligned_alloc").Target);
    }

    /// <summary>A non-PIE executable that takes &amp;free makes its PLT entry free's address for
    /// everyone: libc's GOT holds it. Forwarding there would loop: app PLT → app slot → sampler.</summary>
    [Fact]
    public void A_slot_bound_to_the_executables_canonical_plt_entry_forwards_to_the_real_function()
    {
        var world = GlibcProcess();
        world.Words[AppBase + Got] = AppPltMalloc;
        world.Words[AppBase + Got + 8] = AppPltFree;
        world.Words[AppBase + Got + 16] = AppBase + Plt + 0x36;
        world.Words[LibcBase + Got] = AppPltMalloc;
        world.Words[LibcBase + Got + 8] = AppPltFree;

        var forwarding = Resolve(world);

        Assert.Equal(LibcFree, SlotOf(forwarding, Libc, "free").Target);
        Assert.Equal(LibcMalloc, SlotOf(forwarding, Libc, "malloc").Target);
        Assert.All(forwarding.Targets.Values, target => Assert.NotInRange(target, AppBase, AppBase + 0x10000));
    }

    [Fact]
    public void Where_jemalloc_is_the_allocator_slots_forward_to_jemalloc_and_the_lookup_follows_the_link_map_order()
    {
        var world = GlibcProcess();
        world.Load(Image(LibJemalloc, [], [("malloc", 0x1100), ("free", 0x1200), ("aligned_alloc", 0x1300)]), JemallocBase);
        world.Words[AppBase + Got] = JeMalloc;
        world.Words[AppBase + Got + 8] = JeFree;
        world.Words[AppBase + Got + 16] = AppBase + Plt + 0x36; // lazy, never called yet
        world.Words[LibcBase + Got] = JeMalloc;
        world.Words[LibcBase + Got + 8] = JeFree;

        var jemallocFirst = Resolve(world, App, LibJemalloc, Libc);
        var libcFirst = Resolve(world, App, Libc, LibJemalloc);

        Assert.Equal(JeMalloc, jemallocFirst.Targets["malloc"]);
        Assert.Equal(JeFree, SlotOf(jemallocFirst, Libc, "free").Target);
        Assert.Equal(JeAligned, jemallocFirst.Targets["aligned_alloc"]);
        // What the slots already agree on wins over the order; the order decides what nobody bound yet.
        Assert.Equal(JeMalloc, libcFirst.Targets["malloc"]);
        Assert.Equal(LibcAligned, libcFirst.Targets["aligned_alloc"]);
    }

    [Fact]
    public void A_slot_bound_to_another_allocator_than_the_rest_is_left_alone()
    {
        var world = GlibcProcess();
        world.Load(Image(LibJemalloc, [], [("malloc", 0x1100), ("free", 0x1200)]), JemallocBase);
        world.Words[AppBase + Got] = JeMalloc; // a library opened with RTLD_DEEPBIND, say
        world.Words[AppBase + Got + 8] = LibcFree;
        world.Words[AppBase + Got + 16] = LibcAligned;
        world.Words[LibcBase + Got] = LibcMalloc;
        world.Words[LibcBase + Got + 8] = LibcFree;

        var forwarding = Resolve(world, App, Libc, LibJemalloc);

        Assert.Equal(LibcMalloc, forwarding.Targets["malloc"]);
        var skip = Assert.Single(forwarding.Skipped);
        Assert.Equal((App, "malloc"), (skip.Module, skip.Slot!.Symbol));
        Assert.Contains("bound to another malloc", skip.Reason);
        Assert.Equal(4, forwarding.Apply.Count);
    }

    [Fact]
    public void Slots_already_on_the_sampler_unreadable_or_not_relocated_yet_are_left_alone()
    {
        var world = GlibcProcess();
        world.Words[AppBase + Got] = SamplerBase + 0x1100; // a previous attach, or the sampler preloaded
        world.Words[AppBase + Got + 16] = 0;               // a library being relocated right now
        world.Words[LibcBase + Got] = LibcMalloc;
        world.Words[LibcBase + Got + 8] = LibcFree;       // the app's free slot cannot be read at all

        var forwarding = Resolve(world);

        Assert.Equal(["cannot be read", "already goes to the sampler; left as it is", "holds 0x0, no function: its module is still being relocated"],
            forwarding.Skipped.Select(s => s.Reason));
        Assert.Equal([(Libc, "free"), (Libc, "malloc")], forwarding.Apply.Select(s => (s.Slot.Module.Path, s.Slot.Symbol)));
    }

    [Fact]
    public void A_function_no_module_defines_is_not_redirected()
    {
        var world = new GotWorld();
        world.Load(Image(App, [("pvalloc", SlotKind.JumpSlot, Got)]), AppBase);
        world.Load(Image(Libc, [], LibcExports), LibcBase);
        world.Words[AppBase + Got] = AppBase + Plt + 0x16;

        var forwarding = Resolve(world);

        Assert.Empty(forwarding.Apply);
        Assert.Equal("no loaded module defines pvalloc", Assert.Single(forwarding.Skipped).Reason);
    }

    [Fact]
    public void The_guessed_order_puts_the_executable_first_and_the_dynamic_linker_last_without_the_sampler()
    {
        var world = GlibcProcess();
        world.Load(Image(Loader, [], [("malloc", 0x1100)]), 0x7f40_0000_0000);
        world.Load(Image(LibJemalloc, []), 0x1000_0000);

        var order = GotOriginals.GuessLookupOrder(world.Plan(), App);

        Assert.Equal([App, LibJemalloc, Libc, Loader], order.Select(m => m.Path));
    }
}
