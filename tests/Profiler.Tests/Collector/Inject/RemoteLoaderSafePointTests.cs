using Profiler.Collectors.Linux.Inject;
using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Tests.Collector.Inject;

public sealed class RemoteLoaderSafePointTests
{
    const string Exe = "/usr/bin/server", Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6", Ld = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
    const ulong Malloc = 0x7f10_0009_8930, AppCode = 0x5600_0000_1234, LibcCode = 0x7f10_0003_0000, LdCode = 0x7f20_0000_2000;
    const ulong ThreadStack = 0x7f40_0000_0000, ThreadStackEnd = 0x7f40_0080_0000;

    static readonly RemoteLoaderPlan Plan = new(0x7f10_0008_5500, 0x7f10_0008_4d10,
        [new("malloc", Malloc), new("free", 0x7f10_0009_8ef0)], Libc, new HashSet<string> { Libc, Ld }, 0x7f10_0017_ba20);

    static readonly IReadOnlyList<MapEntry> Maps =
    [
        new(0x5600_0000_1000, 0x5600_0000_3000, "r-xp", 0x1000, Exe),
        new(0x5600_0000_3000, 0x5600_0000_4000, "rw-p", 0x3000, Exe),
        new(0x7f10_0002_6000, 0x7f10_0017_c000, "r-xp", 0x26000, Libc),
        new(0x7f20_0000_1000, 0x7f20_0002_6000, "r-xp", 0x1000, Ld),
        new(ThreadStack - 0x1000, ThreadStack, "---p", 0, ""),
        new(ThreadStack, ThreadStackEnd, "rw-p", 0, ""),
        new(0x7ffd_0000_0000, 0x7ffd_0002_1000, "rw-p", 0, "[stack]"),
        new(0x7fff_ffff_e000, 0x7fff_ffff_f000, "r-xp", 0, "[uprobes]"),
    ];

    static RemoteLoaderHit Hit(ulong rip = Malloc, ulong returnAddress = AppCode, ulong rsp = ThreadStackEnd - 0x1008,
        ulong orig = PtraceRegisters.NoSystemCall, ulong blocked = 0, ulong usual = 0) =>
        new(42, new PtraceRegisters { Rip = rip, Rsp = rsp, OrigRax = orig }, returnAddress, new RemoteLoaderSignalState(blocked, 0, 0), usual);

    [Fact]
    public void A_call_from_the_program_to_malloc_is_a_safe_point()
    {
        Assert.Null(RemoteLoaderSafePoint.Judge(Hit(), Plan, Maps));
        // On the main thread's stack too (it grows on demand, however little is mapped yet).
        Assert.Null(RemoteLoaderSafePoint.Judge(Hit(rsp: 0x7ffd_0000_0108), Plan, Maps));
    }

    [Fact]
    public void A_call_from_libc_or_the_dynamic_linker_may_hold_their_locks()
    {
        Assert.Equal("thread 42 called malloc from libc.so.6, which may hold one of its locks",
            RemoteLoaderSafePoint.Judge(Hit(returnAddress: LibcCode), Plan, Maps));
        Assert.Equal("thread 42 called malloc from ld-linux-x86-64.so.2, which may hold one of its locks",
            RemoteLoaderSafePoint.Judge(Hit(returnAddress: LdCode), Plan, Maps));
    }

    [Fact]
    public void A_return_address_taken_over_by_a_return_probe_hides_the_caller()
    {
        Assert.Equal("thread 42 reached malloc with a return probe's trampoline as its return address: its caller is unknown",
            RemoteLoaderSafePoint.Judge(Hit(returnAddress: 0x7fff_ffff_e000), Plan, Maps));
    }

    [Fact]
    public void Past_the_first_instruction_the_entry_stack_pointer_is_the_one_judged()
    {
        var plan = Plan with { Entries = [new("malloc", Malloc, 0x98930, 2, 8)] };
        // push r12 ran: the stack pointer is 8 lower than at the entry, where it was call-aligned.
        Assert.Null(RemoteLoaderSafePoint.Judge(Hit(rip: Malloc + 2, rsp: ThreadStackEnd - 0x1010), plan, Maps));
        Assert.Equal("thread 42 reached malloc without a call (stack pointer 0x7f40007ff000)",
            RemoteLoaderSafePoint.Judge(Hit(rip: Malloc + 2, rsp: ThreadStackEnd - 0x1008), plan, Maps));
        Assert.Equal("thread 42 is at 0x7f1000098931, not at an allocator's entry", RemoteLoaderSafePoint.Judge(Hit(rip: Malloc + 1), plan, Maps));
    }

    [Fact]
    public void Anything_but_a_plain_call_at_an_allocator_entry_is_refused()
    {
        Assert.Equal("thread 42 is at 0x7f1000098931, not at an allocator's entry", RemoteLoaderSafePoint.Judge(Hit(rip: Malloc + 1), Plan, Maps));
        Assert.Equal("thread 42 is in a system call", RemoteLoaderSafePoint.Judge(Hit(orig: 202), Plan, Maps));
        Assert.Equal("thread 42 reached malloc without a call (stack pointer 0x7f40007ff000)",
            RemoteLoaderSafePoint.Judge(Hit(rsp: ThreadStackEnd - 0x1000), Plan, Maps));
        // A jump from data (a return address that is not in code) is no call the ABI knows.
        Assert.Equal("thread 42 reached malloc from 0x5600000030a0, outside the program's code",
            RemoteLoaderSafePoint.Judge(Hit(returnAddress: 0x5600_0000_30a0), Plan, Maps));
    }

    [Fact]
    public void A_thread_that_blocks_more_signals_than_usual_may_be_in_a_handler()
    {
        Assert.Equal("thread 42 blocks other signals than usual (0x2000, usually 0x0: a signal handler may be running)",
            RemoteLoaderSafePoint.Judge(Hit(blocked: 1 << 13, usual: 0), Plan, Maps));
        Assert.Null(RemoteLoaderSafePoint.Judge(Hit(blocked: 1 << 13, usual: 1 << 13), Plan, Maps));
    }

    /// <summary>First seen inside its SIGALRM handler (which blocks SIGALRM and SIGRTMIN), the
    /// thread's hit outside it is refused once; that look makes its usual mask the smaller one,
    /// so the next hit outside is taken and a hit inside the handler refused.</summary>
    [Fact]
    public void A_thread_first_seen_in_a_handler_is_taken_once_seen_outside_it()
    {
        const ulong InHandler = 1UL << 13 | 1UL << 33, Outside = 1UL << 0; // SIGHUP blocked by the program itself
        ulong usual = InHandler | Outside;
        Assert.NotNull(RemoteLoaderSafePoint.Judge(Hit(blocked: Outside, usual: usual), Plan, Maps));
        usual = RemoteLoaderSafePoint.Usual(usual, Outside);

        Assert.Null(RemoteLoaderSafePoint.Judge(Hit(blocked: Outside, usual: usual), Plan, Maps));
        Assert.Equal("thread 42 blocks other signals than usual (0x200002001, usually 0x1: a signal handler may be running)",
            RemoteLoaderSafePoint.Judge(Hit(blocked: InHandler | Outside, usual: usual), Plan, Maps));
        // Another look inside the handler changes nothing.
        Assert.Equal(Outside, RemoteLoaderSafePoint.Usual(usual, InHandler | Outside));
    }

    [Fact]
    public void A_thread_near_the_end_of_its_stack_has_no_room_for_the_load()
    {
        Assert.Equal("thread 42 has 20 KiB of stack left, too little for the load",
            RemoteLoaderSafePoint.Judge(Hit(rsp: ThreadStack + 20 * 1024 + 8), Plan, Maps));
        Assert.Null(RemoteLoaderSafePoint.Judge(Hit(rsp: ThreadStack + RemoteLoaderSafePoint.StackNeeded + 8192 + 8), Plan, Maps));
    }
}
