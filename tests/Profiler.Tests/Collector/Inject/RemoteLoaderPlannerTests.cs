using System.Runtime.InteropServices;
using Profiler.Collectors.Linux.Inject;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Symbols.Elf;

namespace Profiler.Tests.Collector.Inject;

public sealed class RemoteLoaderPlannerTests
{
    const string Exe = "/usr/bin/server", Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6", Ld = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
    const string Jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", Libdl = "/usr/lib/x86_64-linux-gnu/libdl.so.2";
    const string Library = "/opt/memprof/libmemprof_preload.so";

    static readonly ElfSegment[] LibcSegments =
    [
        new(0x0, 0x0, 0x26000, 0x26000, ElfSegmentFlags.Read, 0x1000),
        new(0x26000, 0x26000, 0x155a1d, 0x155a1d, ElfSegmentFlags.Read | ElfSegmentFlags.Execute, 0x1000), // ends mid-page
        new(0x17c000, 0x17c000, 0x56000, 0x56000, ElfSegmentFlags.Read, 0x1000),
    ];

    static readonly ulong LibcBias = 0x7f10_0000_0000;

    /// <summary>glibc 2.36's first instructions: malloc `push r12`, free `test rdi, rdi`, calloc `push r13`, realloc `push r15`.</summary>
    static readonly Dictionary<string, byte[]> Prologues = new()
    {
        ["malloc"] = [0x41, 0x54, 0x55], ["free"] = [0x48, 0x85, 0xff, 0x0f], ["calloc"] = [0x41, 0x55, 0x48], ["realloc"] = [0x41, 0x57, 0x41],
    };

    static RemoteLoaderModule Module(string path, ulong bias, ElfSegment[] segments, params (string Name, ulong Address)[] functions) =>
        new(path, bias, 0x1d_0000, segments, functions.ToDictionary(f => f.Name, f => f.Address),
            Prologues: functions.Where(f => Prologues.ContainsKey(f.Name)).ToDictionary(f => f.Name, f => Prologues[f.Name]));

    static RemoteLoaderModule LibcModule(bool withDlopen = true) =>
        Module(Libc, LibcBias, LibcSegments,
            [("malloc", 0x98930), ("free", 0x98ef0), ("calloc", 0x996e0), ("realloc", 0x99130),
             .. withDlopen ? new[] { ("dlopen", 0x85500UL), ("dlerror", 0x84d10UL) } : []]);

    static List<MapEntry> Maps(params string[] extra)
    {
        var maps = new List<MapEntry>
        {
            new(0x5600_0000_0000, 0x5600_0000_1000, "r--p", 0, Exe),
            new(0x5600_0000_1000, 0x5600_0000_3000, "r-xp", 0x1000, Exe),
            new(LibcBias, LibcBias + 0x26000, "r--p", 0, Libc),
            new(LibcBias + 0x26000, LibcBias + 0x17c000, "r-xp", 0x26000, Libc),
            new(LibcBias + 0x17c000, LibcBias + 0x1d2000, "r--p", 0x17c000, Libc),
            new(0x7f20_0000_0000, 0x7f20_0000_1000, "r--p", 0, Ld),
            new(0x7f20_0000_1000, 0x7f20_0002_6000, "r-xp", 0x1000, Ld),
        };
        foreach (var path in extra)
        {
            ulong at = 0x7f30_0000_0000 + (ulong)maps.Count * 0x100_0000;
            maps.Add(new(at, at + 0x1000, "r--p", 0, path));
            maps.Add(new(at + 0x1000, at + 0x9000, "r-xp", 0x1000, path));
        }
        return maps;
    }

    [Fact]
    public void Dlopen_and_the_allocator_entries_come_from_libc_with_its_load_bias()
    {
        var (plan, failure) = RemoteLoaderPlanner.Plan(Maps(), [LibcModule()], Exe, Library);

        Assert.Null(failure);
        Assert.Equal((LibcBias + 0x85500, LibcBias + 0x84d10), (plan!.DlOpen, plan.DlError));
        Assert.Equal(["malloc", "free", "calloc", "realloc"], plan.Entries.Select(e => e.Name));
        Assert.Equal(LibcBias + 0x98930, plan.Entries[0].Address);
        // The probe's place in the file, and where the thread stands once the first instruction ran.
        Assert.Equal([0x98930UL, 0x98ef0, 0x996e0, 0x99130], plan.Entries.Select(e => e.FileOffset));
        Assert.Equal([(2, 8UL), (3, 0), (2, 8), (2, 8)], plan.Entries.Select(e => (e.StepLength, e.StackDrop)));
        Assert.Equal(Libc, plan.Allocator);
        Assert.Contains(Libc, plan.LockHolders);
        Assert.DoesNotContain(Exe, plan.LockHolders);
    }

    [Fact]
    public void The_stub_goes_in_the_unused_tail_of_libc_s_code_page()
    {
        var (plan, _) = RemoteLoaderPlanner.Plan(Maps(), [LibcModule()], Exe, Library);

        // The text segment ends at 0x17ba1d: the stub starts at the next 16-byte boundary, and the
        // page ends at 0x17c000, well past the stub.
        Assert.Equal(LibcBias + 0x17ba20, plan!.StubAddress);
    }

    [Fact]
    public void A_code_segment_that_fills_its_last_page_has_no_room_and_another_module_is_used()
    {
        ElfSegment[] full = [LibcSegments[0], LibcSegments[1] with { MemorySize = 0x156000, FileSize = 0x156000 }, LibcSegments[2]];
        var libc = LibcModule() with { Segments = full };
        var loader = Module(Ld, 0x7f20_0000_0000, [new(0x1000, 0x1000, 0x24ab0, 0x24ab0, ElfSegmentFlags.Read | ElfSegmentFlags.Execute, 0x1000)]);

        var (plan, _) = RemoteLoaderPlanner.Plan(Maps(), [libc, loader], Exe, Library);

        Assert.Equal(0x7f20_0000_0000UL + 0x25ab0, plan!.StubAddress);
    }

    [Fact]
    public void A_tail_past_the_end_of_the_file_is_not_used()
    {
        // A file cut short right after its code: the last page of the mapping has no file behind it.
        var libc = LibcModule() with { FileSize = 0x17ba1d };
        var (plan, failure) = RemoteLoaderPlanner.Plan(Maps(), [libc], Exe, Library);
        Assert.Null(plan);
        Assert.Equal("no executable mapping has room for the loader's stub", failure);
    }

    [Fact]
    public void A_program_on_libjemalloc_is_caught_at_jemalloc_s_entries_and_calls_from_jemalloc_are_not_safe()
    {
        var jemalloc = Module(Jemalloc, 0x7f30_0000_7000, [new(0x1000, 0x1000, 0x7000, 0x7000, ElfSegmentFlags.Read | ElfSegmentFlags.Execute, 0x1000)],
            ("malloc", 0x1100), ("free", 0x1200), ("calloc", 0x1300), ("realloc", 0x1400));

        var (plan, _) = RemoteLoaderPlanner.Plan(Maps(Jemalloc), [LibcModule(), jemalloc], Exe, Library);

        Assert.Equal(Jemalloc, plan!.Allocator);
        Assert.Equal(0x7f30_0000_7000UL + 0x1100, plan.Entries[0].Address);
        Assert.Contains(Jemalloc, plan.LockHolders);
        Assert.Equal(LibcBias + 0x85500, plan.DlOpen);
    }

    [Fact]
    public void A_program_with_its_own_malloc_is_caught_at_its_own_entries()
    {
        var exe = Module(Exe, 0x5600_0000_0000, [new(0x1000, 0x1000, 0x1800, 0x1800, ElfSegmentFlags.Read | ElfSegmentFlags.Execute, 0x1000)],
            ("malloc", 0x1010), ("free", 0x1020));

        var (plan, _) = RemoteLoaderPlanner.Plan(Maps(), [exe, LibcModule()], Exe, Library);

        Assert.Equal(Exe, plan!.Allocator);
        Assert.Equal(["malloc", "free"], plan.Entries.Select(e => e.Name));
        // A call from the program's own code is a call from the program: not a lock holder.
        Assert.DoesNotContain(Exe, plan.LockHolders);
    }

    [Fact]
    public void Before_glibc_2_34_dlopen_comes_from_libdl_when_the_program_loaded_it()
    {
        var libdl = Module(Libdl, 0x7f30_0000_7000, [new(0x1000, 0x1000, 0x1800, 0x1800, ElfSegmentFlags.Read | ElfSegmentFlags.Execute, 0x1000)],
            ("dlopen", 0x1390), ("dlerror", 0x1a50));

        var (plan, _) = RemoteLoaderPlanner.Plan(Maps(Libdl), [LibcModule(withDlopen: false), libdl], Exe, Library);
        Assert.Equal((0x7f30_0000_7000UL + 0x1390, 0x7f30_0000_7000UL + 0x1a50), (plan!.DlOpen, plan.DlError));
        Assert.Contains(Libdl, plan.LockHolders);

        var (none, failure) = RemoteLoaderPlanner.Plan(Maps(), [LibcModule(withDlopen: false)], Exe, Library);
        Assert.Null(none);
        Assert.Equal("libc.so.6 has no dlopen (glibc older than 2.34) and libdl.so.2 is not loaded", failure);
    }

    [Fact]
    public void An_entry_whose_first_instruction_jumps_away_is_not_probed()
    {
        var libc = LibcModule();
        // jmp rel32 (a thunk to the real malloc) and a `mov rsp, rbp` the catch cannot undo.
        libc = libc with { Prologues = new Dictionary<string, byte[]>(libc.Prologues!) { ["malloc"] = [0xe9, 0, 1, 0, 0], ["free"] = [0x48, 0x89, 0xec] } };

        var (plan, _) = RemoteLoaderPlanner.Plan(Maps(), [libc], Exe, Library);

        Assert.Equal(["calloc", "realloc"], plan!.Entries.Select(e => e.Name));
        var none = libc with { Prologues = new Dictionary<string, byte[]>() };
        Assert.Equal("no allocator entry of libc.so.6 begins with an instruction a probe can stop after",
            RemoteLoaderPlanner.Plan(Maps(), [none], Exe, Library).Failure);
    }

    [Fact]
    public void A_32_bit_process_is_refused()
    {
        var (plan, failure) = RemoteLoaderPlanner.Plan(Maps(), [LibcModule() with { Machine = 3 }], Exe, Library);
        Assert.Null(plan);
        Assert.Equal("the process is not an x86-64 one (libc.so.6 is for ELF machine 3)", failure);
    }

    [Fact]
    public void A_static_program_and_one_without_glibc_are_told_apart()
    {
        var staticMaps = Maps().Where(m => m.Path == Exe).ToList();
        Assert.Equal("the program is statically linked (no dynamic linker to load a library)",
            RemoteLoaderPlanner.Plan(staticMaps, [], Exe, Library).Failure);
        var musl = Maps().Where(m => m.Path != Libc).ToList();
        Assert.Equal("the process has no glibc (libc.so.6) mapped", RemoteLoaderPlanner.Plan(musl, [], Exe, Library).Failure);
    }

    /// <summary>Ground truth from this very process: the planner, fed its maps and its files as
    /// the target reader describes them, finds dlopen and malloc where the dynamic linker has
    /// them.</summary>
    [Fact]
    public void In_this_process_the_plan_finds_dlopen_and_malloc_where_the_dynamic_linker_does()
    {
        int pid = Environment.ProcessId;
        var target = new ProcfsRemoteLoaderTarget();
        var maps = target.Maps(pid);
        var (plan, failure) = RemoteLoaderPlanner.Plan(maps, target.Modules(pid, maps), target.Executable(pid), Library);
        Assert.True(plan is not null, failure);

        var libc = NativeLibrary.Load("libc.so.6");
        Assert.Equal((ulong)NativeLibrary.GetExport(libc, "dlopen"), plan.DlOpen);
        Assert.Equal((ulong)NativeLibrary.GetExport(libc, "dlerror"), plan.DlError);
        foreach (var entry in plan.Entries)
        {
            Assert.Equal((ulong)NativeLibrary.GetExport(libc, entry.Name), entry.Address);
            // The prologue was read from the file at the entry's file offset: the same bytes as in memory here.
            var inMemory = new byte[entry.StepLength];
            Marshal.Copy((nint)entry.Address, inMemory, 0, inMemory.Length);
            Assert.Equal(RemoteLoaderPrologue.FirstStep([.. inMemory, .. new byte[16]])!.Value.Length, entry.StepLength);
        }
        Assert.Equal(4, plan.Entries.Count);
        var stubMapping = maps.Single(m => m.Start <= plan.StubAddress && plan.StubAddress < m.End);
        Assert.True(stubMapping.IsExecutable && RemoteLoaderPlanner.IsLibc(stubMapping.Path), stubMapping.ToString());
        Assert.True(plan.StubAddress + RemoteLoaderStub.MaxLength <= stubMapping.End);
    }
}
