using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Session;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using static Profiler.Tests.Collector.Session.FakeWorld;

namespace Profiler.Tests.Collector.Session;

/// <summary>The session core driven by hand-made kernel records and process snapshots.</summary>
public sealed class SessionCoreTests
{
    const int Root = 100, Child = 200;
    static readonly ulong[] AppStack = [LibcBase + 0x1000, AppBase + 0x1234, AppBase + 0x2000];

    static (FakeWorld World, SessionCore Core) Attached(ulong rate = 1)
    {
        var world = new FakeWorld();
        world.MapFiles(Root, App, Libc);
        var core = world.Core(rate);
        core.Start(Root, 0, launched: false);
        return (world, core);
    }

    [Fact]
    public void Attaching_probes_the_allocator_of_every_mapped_file_and_records_its_modules()
    {
        var (world, core) = Attached();

        Assert.Equal([new TrackProcess(Root, false)], world.Commands.Take(1));
        var attach = Assert.Single(world.Commands.OfType<AttachProbes>());
        Assert.Equal((Root, Libc, false), (attach.Pid, attach.Path, attach.MayVanish));
        // An attached process is not stopped at exit: only malloc and free.
        Assert.Equal([0x1000UL, 0x2000], attach.Targets.Select(t => t.FileOffset));
        Assert.Equal([App, Libc], world.Logged<Module>().Select(m => m.Path));
        Assert.Equal(2, core.Sites.Count);
    }

    [Fact]
    public void A_process_without_an_allocator_is_refused()
    {
        var world = new FakeWorld();
        world.MapFiles(Root, App);
        var e = Assert.Throws<Profiler.Core.ProfilerException>(() => world.Core().Start(Root, 0, launched: false));
        Assert.Contains("maps no file that defines malloc/free", e.Message);
    }

    [Fact]
    public void A_launched_command_is_probed_before_it_runs_and_stopped_at_exit()
    {
        var world = new FakeWorld();
        world.MapFiles(Root, Libc);
        world.Core().Start(Root, 0, launched: true, [Libc]);

        var attach = Assert.Single(world.Commands.OfType<AttachProbes>());
        // malloc, free, exit() and _exit hooks.
        Assert.Equal([0x1000UL, 0x2000, 0x3000, 0x3100], attach.Targets.Select(t => t.FileOffset));
        Assert.Equal(BpfCookie.Make(BpfFunction.Exit, 0), attach.Targets[2].Cookie);
        // The launcher shell's maps are about to be replaced by exec: not recorded.
        Assert.Empty(world.Logged<Module>());
    }

    [Fact]
    public void A_sampled_allocation_takes_the_stack_its_entry_captured()
    {
        var (world, core) = Attached(rate: 4096);
        world.Clear();

        core.OnRecord(KernelRecord.Stack(Root, 7, 5, AppStack));
        core.OnRecord(KernelRecord.Malloc(Root, 7, address: 0xa000, size: 100, sequence: 5));

        var stack = Assert.Single(world.Logged<Stack>());
        Assert.Equal(AppStack, stack.Addresses);
        var alloc = Assert.Single(world.Events);
        Assert.Equal((EventKind.Alloc, 0xa000UL, 100UL, stack.Id), (alloc.Kind, alloc.Address, alloc.Size, alloc.StackId));
        Assert.Equal(Profiler.Core.Sampling.PoissonSampling.Weight(100, 4096), alloc.Weight);
        Assert.Equal(AllocFunction.Malloc, alloc.Function);
        Assert.Equal(1, core.Events);
    }

    [Fact]
    public void Records_of_threads_on_other_cpus_interleave_without_mixing_stacks()
    {
        var (world, core) = Attached();
        ulong[] other = [LibcBase + 0x1000, AppBase + 0x5555];

        core.OnRecord(KernelRecord.Stack(Root, 7, 1, AppStack));
        core.OnRecord(KernelRecord.Stack(Root, 8, 2, other));
        core.OnRecord(KernelRecord.Malloc(Root, 8, 0xb000, 16, 2));
        core.OnRecord(KernelRecord.Malloc(Root, 7, 0xa000, 32, 1));

        var stacks = world.Logged<Stack>().ToDictionary(s => s.Id, s => s.Addresses.ToArray());
        var byAddress = world.Events.ToDictionary(e => e.Address, e => stacks[e.StackId]);
        Assert.Equal(AppStack, byAddress[0xa000]);
        Assert.Equal(other, byAddress[0xb000]);
    }

    [Fact]
    public void A_stack_whose_allocation_was_lost_is_not_lent_to_the_next_one()
    {
        var (world, core) = Attached();
        ulong[] own = [LibcBase + 0x1000, AppBase + 0x7777];

        core.OnRecord(KernelRecord.Stack(Root, 7, 5, AppStack));
        // Sequence 5's allocation record was dropped (ring full); the next carries its own stack.
        core.OnRecord(KernelRecord.Malloc(Root, 7, 0xa000, 32, sequence: 6, frames: own));

        var stacks = world.Logged<Stack>().ToDictionary(s => s.Id, s => s.Addresses.ToArray());
        Assert.Equal(own, stacks[Assert.Single(world.Events).StackId]);
    }

    /// <summary>The shared rings are read after the kernel's ring: an event the thread wrote to its
    /// ring before entering a probed allocator may come between that allocator's stack and its
    /// allocation record.</summary>
    [Fact]
    public void A_ring_event_of_the_same_thread_between_a_stack_and_its_allocation_leaves_the_stack_to_it()
    {
        var (world, core) = Attached();
        ulong[] ringStack = [LibcBase + 0x1000, AppBase + 0x6666];

        core.OnRecord(KernelRecord.Stack(Root, 7, 5, AppStack));
        core.OnRecord(KernelRecord.Malloc(Root, 7, 0xb000, 16, sequence: 0, frames: ringStack));
        core.OnRecord(KernelRecord.Malloc(Root, 7, 0xa000, 32, sequence: 5));

        var stacks = world.Logged<Stack>().ToDictionary(s => s.Id, s => s.Addresses.ToArray());
        var byAddress = world.Events.ToDictionary(e => e.Address, e => stacks.GetValueOrDefault(e.StackId));
        Assert.Equal(AppStack, byAddress[0xa000]);
        Assert.Equal(ringStack, byAddress[0xb000]);
    }

    [Fact]
    public void Lost_records_are_reported_in_the_stats()
    {
        var (world, core) = Attached();
        world.KernelCounters = new TracerCounters(LostEvents: 42, StackErrors: 3, SampledMapFull: 1, Samples: 1000);
        core.OnRecord(KernelRecord.Malloc(Root, 7, 0xa000, 32, 1, AppStack));

        var stats = core.Stats();
        Assert.Equal((42UL, 3UL, 1000UL, 1UL, 1UL), (stats.LostEvents, stats.LostStacks, stats.Samples, stats.UntrackedSamples, stats.Events));
    }

    [Fact]
    public void A_realloc_of_a_sampled_block_frees_it_and_allocates_the_new_one_with_the_same_stack()
    {
        var (world, core) = Attached();
        core.OnRecord(KernelRecord.Make(BpfFunction.Realloc, Root, 7, address: 0xc000, size: 64, oldAddress: 0xa000, sequence: 3,
            flags: BpfEventHeader.NewSampled | BpfEventHeader.OldSampled, frames: AppStack));

        Assert.Equal([(EventKind.Free, 0xa000UL), (EventKind.Alloc, 0xc000UL)], world.Events.Select(e => (e.Kind, e.Address)));
        Assert.Equal(world.Events[0].StackId, world.Events[1].StackId);
        Assert.NotEqual(0UL, world.Events[0].StackId);
    }

    [Fact]
    public void A_forked_child_is_tracked_probed_and_only_then_resumed()
    {
        var (world, core) = Attached();
        world.MapFiles(Child, App, Libc);
        world.Clear();

        core.OnRecord(KernelRecord.Fork(Root, Child));

        var fork = Assert.Single(world.Logged<ProcessFork>());
        Assert.Equal((200u, 100u), (fork.Pid, fork.ParentPid));
        Assert.Equal(["TrackProcess 200", "AttachProbes 200 " + Libc, "ResumeProcess 200"], world.Commands.Select(Describe));
        Assert.True(world.Commands.OfType<AttachProbes>().Single().MayVanish);
        Assert.Equal([App, Libc], world.Logged<Module>().Select(m => m.Path));
        Assert.Equal(2, core.LiveProcessCount);
    }

    [Fact]
    public void A_child_that_died_before_its_maps_were_read_is_let_go_unprobed()
    {
        var (world, core) = Attached();
        world.Clear();

        core.OnRecord(KernelRecord.Fork(Root, Child));

        Assert.Single(world.Logged<ProcessFork>());
        Assert.Equal(["ResumeProcess 200"], world.Commands.Select(Describe));
        Assert.Equal(1, core.ProcessCount);
    }

    [Fact]
    public void A_child_that_execs_gets_the_new_images_allocator_probed_but_not_the_old_one_again()
    {
        var (world, core) = Attached();
        world.MapFiles(Child, App, Libc);
        core.OnRecord(KernelRecord.Fork(Root, Child));
        world.Plans[Tool] = new Profiler.Collectors.Linux.Probes.ProbePlan(
            [Site(Tool, "malloc", BpfFunction.Malloc, 0x9000), Site(Tool, "free", BpfFunction.Free, 0x9100)], ExitHook: 0x9200);
        world.MapFiles(Child, Tool);
        world.Clear();

        core.OnRecord(KernelRecord.Exec(Child, "tool"));

        Assert.Equal("tool", Assert.Single(world.Logged<ProcessExec>()).Name);
        Assert.Equal(["AttachProbes 200 " + Tool, "ResumeProcess 200"], world.Commands.Select(Describe));
        // Its own malloc, free and exit(): followed children are stopped at exit like launched commands.
        Assert.Equal([0x9000UL, 0x9100, 0x9200], world.Commands.OfType<AttachProbes>().Single().Targets.Select(t => t.FileOffset));
        Assert.Equal(Tool, Assert.Single(world.Logged<Module>()).Path);
        Assert.Equal("tool", world.Logged<Profiler.Core.Recording.Proto.Thread>().Last().Name);
    }

    [Fact]
    public void A_library_loaded_late_is_probed_at_the_dynamic_linkers_hook()
    {
        var world = new FakeWorld();
        world.MapFiles(Root, Libc);
        var core = world.Core();
        core.Start(Root, 0, launched: true, [App]);
        world.MapFiles(Root, App, Libc, LibJemalloc);
        world.Clear();

        core.OnRecord(KernelRecord.Make(BpfFunction.Libraries, Root));

        Assert.Equal(["AttachProbes 100 " + LibJemalloc, "ResumeProcess 100"], world.Commands.Select(Describe));
        Assert.Contains(LibJemalloc, world.Logged<Module>().Select(m => m.Path));
    }

    [Fact]
    public void A_stack_through_an_unmapped_address_has_the_maps_read_again()
    {
        var (world, core) = Attached();
        world.MapFiles(Root, App, Libc, LibJemalloc);
        world.Now += 50_000_000; // past the 10 ms between forced reads
        world.Clear();

        core.OnRecord(KernelRecord.Malloc(Root, 7, 0xa000, 32, 1, [JemallocBase + 0x10, AppBase + 0x1234]));

        Assert.Equal(LibJemalloc, Assert.Single(world.Logged<Module>()).Path);
    }

    [Fact]
    public void With_the_preload_library_glibc_is_not_probed_until_an_exec_drops_the_library()
    {
        var world = new FakeWorld();
        // The launcher shell already runs with the library preloaded.
        world.MapFiles(Root, Tool, Preload, Libc);
        var core = world.Core(rate: 4096);
        core.Start(Root, 0, launched: true, [App]);

        var attaches = world.Commands.OfType<AttachProbes>().ToList();
        Assert.Equal([0x500UL, 0x600], attaches.Single(a => a.Path == Preload).Targets.Select(t => t.FileOffset));
        // libc: only exit() and _exit, its malloc family is the library's.
        Assert.Equal([0x3000UL, 0x3100], attaches.Single(a => a.Path == Libc).Targets.Select(t => t.FileOffset));

        // A command that cleared LD_PRELOAD (or a setuid one) runs without it.
        world.MapFiles(Root, App, Libc);
        world.Clear();
        core.OnRecord(KernelRecord.Exec(Root, "app"));

        var glibc = Assert.Single(world.Commands.OfType<AttachProbes>());
        Assert.Equal(Libc, glibc.Path);
        Assert.Equal([0x1000UL, 0x2000], glibc.Targets.Select(t => t.FileOffset));
        Assert.Equal("ResumeProcess 100", Describe(world.Commands.Last()));
    }

    [Fact]
    public void With_the_preload_library_an_allocator_it_samples_through_is_not_probed_until_an_exec_drops_the_library()
    {
        var world = new FakeWorld();
        var jemalloc = world.Plans[LibJemalloc];
        // libjemalloc.so.2 as the planner gives it: the whole malloc family unprefixed, and a prefixed API nobody interposes.
        world.Plans[LibJemalloc] = new Profiler.Collectors.Linux.Probes.ProbePlan(
            [.. jemalloc.Sites, FakeWorld.Site(LibJemalloc, "je_mallocx", BpfFunction.Mallocx, 0x7200)], null) { SampledByPreload = true };
        world.MapFiles(Root, Tool, Preload, Libc, LibJemalloc);
        var core = world.Core(rate: 4096);
        core.Start(Root, 0, launched: true, [App]);

        var attaches = world.Commands.OfType<AttachProbes>().ToList();
        Assert.Equal([0x7200UL], attaches.Single(a => a.Path == LibJemalloc).Targets.Select(t => t.FileOffset));
        Assert.Equal([0x3000UL, 0x3100], attaches.Single(a => a.Path == Libc).Targets.Select(t => t.FileOffset));

        world.MapFiles(Root, App, Libc, LibJemalloc);
        world.Clear();
        core.OnRecord(KernelRecord.Exec(Root, "app"));

        Assert.Equal([0x7000UL, 0x7100], world.Commands.OfType<AttachProbes>().Single(a => a.Path == LibJemalloc).Targets.Select(t => t.FileOffset));
    }

    [Fact]
    public void With_the_preload_library_an_allocator_it_cannot_sample_through_stays_probed()
    {
        var world = new FakeWorld();
        world.MapFiles(Root, Tool, Preload, Libc, LibJemalloc);
        var core = world.Core(rate: 4096);
        core.Start(Root, 0, launched: true, [App]);

        Assert.Equal([0x7000UL, 0x7100], world.Commands.OfType<AttachProbes>().Single(a => a.Path == LibJemalloc).Targets.Select(t => t.FileOffset));
    }

    [Fact]
    public void The_preload_librarys_counters_are_read_from_the_process_at_the_exit_stop()
    {
        var world = new FakeWorld();
        world.MapFiles(Root, App, Preload, Libc);
        var core = world.Core(rate: 4096);
        core.Start(Root, 0, launched: true, [App]);
        world.Memory[(Root, PreloadBase + PreloadStateAddress)] = PreloadStateBytes(allocations: 10, bytes: 1000, usable: 1040, frees: 4, freed: 400);
        world.Clear();

        core.OnRecord(KernelRecord.Make(BpfFunction.Exit, Root));

        var counters = Assert.Single(world.Logged<HeapCounters>());
        Assert.Equal((10UL, 1000UL, 4UL, 400UL, 640L), (counters.Allocations, counters.AllocatedBytes, counters.Frees, counters.FreedBytes, counters.LiveBytes));
        Assert.Equal("ResumeProcess 100", Describe(Assert.Single(world.Commands)));
    }

    [Fact]
    public void A_process_exit_writes_its_last_totals_and_its_exit_code()
    {
        var (world, core) = Attached();
        world.Totals[Root] = new BpfTotals { Allocations = 5, AllocatedBytes = 500, Frees = 2, FreedUsable = 64, LiveUsable = 448, UsableKnown = 1 };
        var exits = new List<(int, int)>();
        core.ProcessExited += (pid, code) => exits.Add((pid, code));
        world.Clear();

        core.OnRecord(KernelRecord.Exited(Root, waitStatus: 9)); // killed by SIGKILL

        Assert.Equal(5UL, Assert.Single(world.Logged<HeapCounters>()).Allocations);
        Assert.Equal(137, Assert.Single(world.Logged<ProcessExit>()).ExitCode);
        Assert.Equal([(Root, 137)], exits);
        Assert.Equal(0, core.LiveProcessCount);
        // Unchanged totals are not written twice.
        core.WriteTotals();
        Assert.Single(world.Logged<HeapCounters>());
    }

    [Fact]
    public void After_a_failure_every_live_process_is_resumed()
    {
        var (world, core) = Attached();
        world.MapFiles(Child, Libc);
        core.OnRecord(KernelRecord.Fork(Root, Child));
        core.OnRecord(KernelRecord.Exited(Child, 0));
        world.Clear();

        core.ResumeAll();

        Assert.Equal(["ResumeProcess 100"], world.Commands.Select(Describe));
    }

    [Fact]
    public void Jemallocs_own_samples_replace_the_probes_and_their_frees_find_them()
    {
        var world = new FakeWorld();
        var symbols = new Profiler.Collectors.Linux.Probes.JemallocProfSymbols("", "je_", 0x100, 0x200, 0x300, null, null, null);
        world.Plans[LibJemalloc] = world.Plans[LibJemalloc] with
        {
            Jemalloc = new Profiler.Collectors.Linux.Probes.JemallocProfPlan(symbols,
                [Site(LibJemalloc, "prof_lookup", BpfFunction.ProfLookup, 0x100), Site(LibJemalloc, "prof_malloc_sample_object", BpfFunction.ProfMalloc, 0x200)]),
        };
        world.MapFiles(Root, App, LibJemalloc);
        world.Environment[(Root, "MALLOC_CONF")] = "prof:true,lg_prof_sample:12";
        var core = world.Core(rate: 4096, new Profiler.Collectors.Linux.Jemalloc.JemallocPolicy(Profiler.Collectors.Linux.AllocatorMode.Auto, 4096));
        core.Start(Root, 0, launched: true, [App]);
        Assert.Equal([0x100UL, 0x200], world.Commands.OfType<AttachProbes>().Single().Targets.Select(t => t.FileOffset));
        core.OnRecord(KernelRecord.Exec(Root, "app"));
        world.Clear();

        core.OnRecord(KernelRecord.Make(BpfFunction.Stack, Root, 7, sequence: 9, frames: AppStack));
        core.OnRecord(KernelRecord.Make(BpfFunction.ProfMalloc, Root, 7, address: 0xd000, size: 100, oldAddress: 0x77, sequence: 9, caller: 112));
        // jemalloc 5.3.0 passes no pointer: the live sample of that backtrace and size is the one freed.
        core.OnRecord(KernelRecord.Make(BpfFunction.ProfFree, Root, 7, address: 0, size: 100, oldAddress: 0x77, caller: 112));

        Assert.Equal([(EventKind.Alloc, 0xd000UL), (EventKind.Free, 0xd000UL)], world.Events.Select(e => (e.Kind, e.Address)));
        Assert.Equal(Profiler.Collectors.Linux.Jemalloc.JemallocProfiling.SampleWeight(100, 112, 4096), world.Events[0].Weight);
        Assert.NotEqual(0UL, world.Events[0].StackId);
    }

    [Fact]
    public void The_launcher_shells_calls_are_not_recorded_and_the_commands_wait_for_its_exec()
    {
        var world = new FakeWorld();
        world.MapFiles(Root, Tool, Libc);
        var core = world.Core(rate: 4096);
        core.Start(Root, 0, launched: true, [App]);
        world.MapFiles(Root, App, Libc);
        world.Clear();

        // The shell frees what it allocated before the probes came, and allocates; the command's
        // first allocation is drained (from its ring) before the kernel's exec record.
        core.OnRecord(KernelRecord.Make(BpfFunction.Free, Root, 7, address: 0xa000, frames: AppStack, time: 100));
        core.OnRecord(KernelRecord.Malloc(Root, 7, 0xb000, 32, 1, AppStack, time: 200));
        core.OnRecord(KernelRecord.Malloc(Root, 7, 0xc000, 48, 1, AppStack, time: 400));
        Assert.Empty(world.Events);
        core.OnRecord(KernelRecord.Exec(Root, "app", time: 300));
        core.OnRecord(KernelRecord.Make(BpfFunction.Free, Root, 7, address: 0xb000, frames: AppStack, time: 250));
        core.OnRecord(KernelRecord.Make(BpfFunction.Free, Root, 7, address: 0xc000, frames: AppStack, time: 500));

        Assert.Equal([(EventKind.Alloc, 0xc000UL), (EventKind.Free, 0xc000UL)], world.Events.Select(e => (e.Kind, e.Address)));
    }

    [Fact]
    public void Thread_names_are_written_when_first_seen_and_when_they_change()
    {
        var (world, core) = Attached();
        core.OnRecord(KernelRecord.Make(BpfFunction.Free, Root, 7, address: 0xa000, frames: AppStack, comm: "worker"));
        core.OnRecord(KernelRecord.Make(BpfFunction.Free, Root, 7, address: 0xb000, frames: AppStack, comm: "worker"));
        core.OnRecord(KernelRecord.Make(BpfFunction.Free, Root, 7, address: 0xc000, frames: AppStack, comm: "renamed"));

        Assert.Equal(["worker", "renamed"], world.Logged<Profiler.Core.Recording.Proto.Thread>().Select(t => t.Name));
        Assert.Single(world.Logged<Stack>());
    }

    static string Describe(SessionCommand c) => c switch
    {
        TrackProcess t => $"TrackProcess {t.Pid}",
        AttachProbes a => $"AttachProbes {a.Pid} {a.Path}",
        ResumeProcess r => $"ResumeProcess {r.Pid}",
        _ => c.ToString(),
    };

    static byte[] PreloadStateBytes(long allocations, long bytes, long usable, long frees, long freed)
    {
        var state = new byte[Profiler.Collectors.Linux.Preload.PreloadState.Size];
        void Put(int offset, long value) => System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(state.AsSpan(offset), value);
        Put(0, (long)Profiler.Collectors.Linux.Preload.PreloadState.Magic);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(12), 1);
        int slot = Profiler.Collectors.Linux.Preload.PreloadState.HeaderSize;
        Put(slot, allocations); Put(slot + 8, bytes); Put(slot + 16, usable); Put(slot + 24, frees); Put(slot + 32, freed);
        return state;
    }
}
