using Profiler.Collectors.Linux.Inject;
using Profiler.Collectors.Linux.Procfs;
using static Profiler.Tests.Collector.Inject.GotWorld;

namespace Profiler.Tests.Collector.Inject;

public sealed class GotPlannerTests
{
    const ulong AppBase = 0x5555_0000_0000, LibcBase = 0x7f00_0000_0000, JemallocBase = 0x7f10_0000_0000;
    const ulong LoaderBase = 0x7f20_0000_0000, SamplerBase = 0x7f30_0000_0000;

    static readonly (string, SlotKind, ulong)[] MallocAndFree = [("malloc", SlotKind.JumpSlot, Got), ("free", SlotKind.JumpSlot, Got + 8)];

    [Fact]
    public void Only_ordinary_modules_are_patched_never_the_loader_the_sampler_or_the_vdso()
    {
        var world = new GotWorld();
        world.Load(Image(App, MallocAndFree), AppBase);
        world.Load(Image(Libc, MallocAndFree, [("malloc", 0x1100), ("free", 0x1200)]), LibcBase);
        world.Load(Image(Loader, MallocAndFree), LoaderBase);
        world.Load(Image(Sampler, MallocAndFree), SamplerBase);
        const string OtherSampler = "/tmp/build/sampler.so";
        world.Load(Image(OtherSampler, MallocAndFree), SamplerBase + 0x10_0000);
        world.Maps.Add(new MapEntry(0x7fff_f000_0000, 0x7fff_f000_2000, "r-xp", 0, "[vdso]"));
        world.Maps.Add(new MapEntry(0xffff_ffff_ff60_0000, 0xffff_ffff_ff60_1000, "--xp", 0, "[vsyscall]"));

        var plan = world.Plan(sampler: OtherSampler);

        Assert.Equal([App, Libc], plan.Apply.Select(s => s.Module.Path).Distinct().Order());
        Assert.Equal(4, plan.Apply.Count);
        var roles = plan.Modules.ToDictionary(m => m.Path, m => m.Role);
        Assert.Equal(ModuleRole.DynamicLinker, roles[Loader]);
        // Recognised by name wherever it lies (an older memprof's copy), and by the path it was given.
        Assert.Equal(ModuleRole.Sampler, roles[Sampler]);
        Assert.Equal(ModuleRole.Sampler, roles[OtherSampler]);
        Assert.Equal(5, plan.Modules.Count);
        Assert.Empty(plan.Skipped);
    }

    [Fact]
    public void Free_slots_of_every_module_come_first_and_the_restore_is_the_exact_reverse()
    {
        var world = new GotWorld();
        (string, SlotKind, ulong)[] api =
        [
            ("malloc", SlotKind.JumpSlot, Got), ("free", SlotKind.JumpSlot, Got + 8), ("realloc", SlotKind.GlobDat, Got + 16),
            ("sdallocx", SlotKind.JumpSlot, Got + 24), ("mallocx", SlotKind.GlobDat, Got + 32), ("dallocx", SlotKind.DataPointer, Data),
        ];
        world.Load(Image(App, api), AppBase);
        world.Load(Image(LibJemalloc, api), JemallocBase);

        var plan = world.Plan();

        string Name(GotSlot s) => $"{Path.GetFileName(s.Module.Path)}:{s.Symbol}";
        Assert.Equal(
            ["app:free", "app:sdallocx", "app:dallocx", "libjemalloc.so.2:free", "libjemalloc.so.2:sdallocx", "libjemalloc.so.2:dallocx",
             "app:malloc", "app:realloc", "app:mallocx", "libjemalloc.so.2:malloc", "libjemalloc.so.2:realloc", "libjemalloc.so.2:mallocx"],
            plan.Apply.Select(Name));
        Assert.Equal(plan.Apply.Reverse().Select(Name), plan.Restore.Select(Name));
        Assert.All(plan.Restore.Take(6), s => Assert.False(s.OnlyFrees));
    }

    [Fact]
    public void Slot_addresses_are_the_load_bias_plus_r_offset_whatever_the_first_load_address()
    {
        var world = new GotWorld();
        // A PIE (first load at 0), a fixed-address executable (0x400000, loaded there: bias 0) and a
        // library linked at 0x10000 but loaded elsewhere.
        world.Load(Image(App, MallocAndFree, firstLoad: 0x40_0000), 0x40_0000);
        world.Load(Image(Libc, MallocAndFree), LibcBase);
        world.Load(Image(LibJemalloc, MallocAndFree, firstLoad: 0x1_0000), JemallocBase);

        var plan = world.Plan();

        var biases = plan.Modules.ToDictionary(m => m.Path, m => m.LoadBias);
        Assert.Equal(0UL, biases[App]);
        Assert.Equal(LibcBase, biases[Libc]);
        Assert.Equal(JemallocBase - 0x1_0000, biases[LibJemalloc]);
        ulong Malloc(string path) => plan.Apply.Single(s => s.Module.Path == path && s.Symbol == "malloc").Address;
        Assert.Equal(0x40_0000 + Got, Malloc(App));
        Assert.Equal(LibcBase + Got, Malloc(Libc));
        Assert.Equal(JemallocBase + Got, Malloc(LibJemalloc));
    }

    [Fact]
    public void A_file_loaded_twice_is_patched_in_both_copies_and_a_file_only_read_by_mmap_is_not()
    {
        var world = new GotWorld();
        world.Load(Image(Libc, MallocAndFree), LibcBase);
        world.Load(Image(Libc, MallocAndFree), LibcBase + 0x100_0000); // a second namespace (dlmopen)
        world.Maps.Add(new MapEntry(0x7e00_0000_0000, 0x7e00_0000_4000, "r--p", 0, Libc)); // mmap(libc.so.6) to read it

        var plan = world.Plan();

        Assert.Equal([LibcBase, LibcBase + 0x100_0000], plan.Modules.Select(m => m.LoadBias));
        Assert.Equal(
            new[] { LibcBase + Got + 8, LibcBase + 0x100_0000 + Got + 8, LibcBase + Got, LibcBase + 0x100_0000 + Got },
            plan.Apply.Select(s => s.Address));
        Assert.Empty(plan.Skipped);
    }

    [Theory]
    [InlineData("malloc@GLIBC_2.2.5", "malloc")]
    [InlineData("malloc@@GLIBC_2.2.5", "malloc")]
    [InlineData("reallocarray@GLIBC_2.26", "reallocarray")]
    [InlineData("sdallocx", "sdallocx")]
    [InlineData("mallocx@JEMALLOC_5", "mallocx")]
    [InlineData("malloc_usable_size@GLIBC_2.2.5", null)]
    [InlineData("__libc_malloc@GLIBC_2.2.5", null)]
    [InlineData("nallocx", null)]
    public void Versioned_names_are_the_family_member_they_name(string name, string? expected)
    {
        Assert.Equal(expected, GotFamily.Find(name)?.Symbol);
    }

    [Fact]
    public void A_versioned_reference_is_planned_under_its_plain_name()
    {
        var world = new GotWorld();
        world.Load(Image(App, MallocAndFree, version: "GLIBC_2.2.5"), AppBase);

        var plan = world.Plan();

        Assert.Equal(["free", "malloc"], plan.Apply.Select(s => s.Symbol));
        Assert.All(plan.Apply, s => Assert.Equal("GLIBC_2.2.5", s.Reference.Version));
    }

    [Fact]
    public void A_slot_the_process_does_not_map_as_the_file_does_is_left_alone_and_said_why()
    {
        var world = new GotWorld();
        var image = Image(App, MallocAndFree);
        // The file says malloc's slot is at file offset 0x2000; this process maps other bytes there.
        image = image with { References = [image.References[0] with { FileOffset = 0x2800 }, image.References[1]] };
        world.Load(image, AppBase);
        world.Load(Image(Libc, [("calloc", SlotKind.JumpSlot, Got + 4)]), LibcBase);

        var plan = world.Plan();

        Assert.Equal(["free"], plan.Apply.Select(s => s.Symbol));
        Assert.Equal(2, plan.Skipped.Count);
        Assert.Contains(plan.Skipped, s => s.Slot?.Symbol == "malloc" && s.Reason.Contains("does not map the file's bytes"));
        Assert.Contains(plan.Skipped, s => s.Slot?.Symbol == "calloc" && s.Reason.Contains("8-byte aligned"));
    }

    [Fact]
    public void A_code_module_whose_file_cannot_be_read_is_reported_a_data_file_is_not()
    {
        var world = new GotWorld();
        world.Load(Image(App, MallocAndFree), AppBase);
        world.Maps.Add(new MapEntry(0x7e00_0000_0000, 0x7e00_0000_1000, "r-xp", 0, "/usr/lib/libgone.so (deleted)"));
        world.Maps.Add(new MapEntry(0x7e10_0000_0000, 0x7e10_0000_1000, "r--p", 0, "/var/cache/data.bin"));

        var plan = world.Plan();

        Assert.Equal("/usr/lib/libgone.so (deleted): its file cannot be read", Assert.Single(plan.Skipped).ToString());
        Assert.Equal(2, plan.Apply.Count);
        // A mapped data file (or a device) is not even opened.
        Assert.Equal([App, "/usr/lib/libgone.so (deleted)"], world.Opened);
    }
}
