using Profiler.Collectors.Linux.Inject;
using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Tests.Collector.Inject;

public sealed class RemoteLoaderIdlePointTests
{
    const string Exe = "/usr/bin/server", Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6", Ld = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
    const string Pthread = "/usr/lib/x86_64-linux-gnu/libpthread.so.0";
    const ulong AppCode = 0x5600_0000_1234, LibcCode = 0x7f10_0003_0000, LdCode = 0x7f20_0000_2000, PthreadCode = 0x7f30_0000_1800;
    const ulong ThreadStack = 0x7f40_0000_0000, ThreadStackEnd = 0x7f40_0080_0000;
    const long EpollWait = 232, Read = 0, Nanosleep = 230, Futex = 202, Mmap = 9, RtSigsuspend = 130, Openat = 257;

    static readonly IReadOnlyList<MapEntry> Maps =
    [
        new(0x5600_0000_1000, 0x5600_0000_3000, "r-xp", 0x1000, Exe),
        new(0x7f10_0002_6000, 0x7f10_0017_c000, "r-xp", 0x26000, Libc),
        new(0x7f10_0017_c000, 0x7f10_001d_0000, "r--p", 0x17c000, Libc),
        new(0x7f20_0000_1000, 0x7f20_0002_6000, "r-xp", 0x1000, Ld),
        new(0x7f30_0000_1000, 0x7f30_0000_2000, "r-xp", 0x1000, Pthread),
        new(ThreadStack - 0x1000, ThreadStack, "---p", 0, ""),
        new(ThreadStack, ThreadStackEnd, "rw-p", 0, ""),
        new(0x7ffd_0000_0000, 0x7ffd_0002_1000, "rw-p", 0, "[stack]"),
    ];

    static RemoteLoaderHit Hit(long call = EpollWait, long result = -RemoteLoaderIdlePoint.EINTR, ulong rip = LibcCode, ulong rsp = ThreadStackEnd - 0x1000,
        ulong blocked = 0, ulong usual = 0) =>
        new(42, new PtraceRegisters { Rip = rip, Rsp = rsp, OrigRax = unchecked((ulong)call), Rax = unchecked((ulong)result) }, 0,
            new RemoteLoaderSignalState(blocked, 0, 0), usual, "wait");

    [Theory]
    [InlineData(EpollWait, -RemoteLoaderIdlePoint.EINTR)]
    [InlineData(Read, -RemoteLoaderIdlePoint.ERESTARTSYS)]
    [InlineData(7L, -RemoteLoaderIdlePoint.ERESTARTNOHAND)]       // poll without a timeout
    [InlineData(7L, -RemoteLoaderIdlePoint.ERESTART_RESTARTBLOCK)] // poll with one
    [InlineData(Nanosleep, -RemoteLoaderIdlePoint.ERESTART_RESTARTBLOCK)]
    [InlineData(288L, -RemoteLoaderIdlePoint.ERESTARTSYS)]        // accept4
    [InlineData(61L, -RemoteLoaderIdlePoint.ERESTARTSYS)]         // wait4
    public void A_wait_in_libc_ended_by_the_signal_is_a_safe_point(long call, long result)
    {
        Assert.Null(RemoteLoaderIdlePoint.Judge(Hit(call, result), Maps));
        // On the main thread's stack too.
        Assert.Null(RemoteLoaderIdlePoint.Judge(Hit(call, result, rsp: 0x7ffd_0000_0108), Maps));
    }

    [Theory]
    [InlineData(Futex, "system call 202, not a waiting one")]        // may wait for malloc's arena lock
    [InlineData(Mmap, "system call 9, not a waiting one")]            // the allocator's own
    [InlineData(Openat, "system call 257, not a waiting one")]        // the loader's own
    [InlineData(RtSigsuspend, "system call 130, not a waiting one")]  // runs with the wait's own mask
    public void Only_the_waiting_calls_qualify(long call, string why) =>
        Assert.EndsWith(why, RemoteLoaderIdlePoint.Judge(Hit(call, -RemoteLoaderIdlePoint.ERESTARTNOHAND), Maps));

    [Fact]
    public void A_thread_outside_a_system_call_is_not_one()
    {
        var hit = Hit() with { Registers = new PtraceRegisters { Rip = LibcCode, Rsp = ThreadStackEnd - 0x1000, OrigRax = PtraceRegisters.NoSystemCall } };
        Assert.Contains("outside a system call", RemoteLoaderIdlePoint.Judge(hit, Maps));
    }

    [Fact]
    public void A_call_that_completed_or_that_the_kernel_would_not_restart_is_not_one()
    {
        Assert.Contains("returned 1, it would not be restarted", RemoteLoaderIdlePoint.Judge(Hit(Read, 1), Maps));
        Assert.Contains("returned 0,", RemoteLoaderIdlePoint.Judge(Hit(Nanosleep, 0), Maps));
        // EINTR is only the epoll calls' way of saying "interrupted": a read's EINTR (a socket
        // timeout) would reach the program.
        Assert.Contains("returned -4,", RemoteLoaderIdlePoint.Judge(Hit(Read, -RemoteLoaderIdlePoint.EINTR), Maps));
        Assert.Contains("returned -11,", RemoteLoaderIdlePoint.Judge(Hit(EpollWait, -11), Maps));
    }

    [Theory]
    [InlineData(LdCode, "was made from ld-linux-x86-64.so.2, not from libc")]
    [InlineData(AppCode, "was made from server, not from libc")]
    [InlineData(PthreadCode, "was made from libpthread.so.0, not from libc")]
    [InlineData(0x7f10_0018_0000UL, "was made from libc.so.6, not from libc")] // libc's data, not its code
    [InlineData(0x1000UL, "was made from 0x1000, not from libc")]
    public void Only_a_call_made_from_libcs_code_qualifies(ulong rip, string why) =>
        Assert.Contains(why, RemoteLoaderIdlePoint.Judge(Hit(rip: rip), Maps));

    [Fact]
    public void A_thread_with_another_mask_or_little_stack_is_not_one()
    {
        Assert.Contains("blocks other signals than usual", RemoteLoaderIdlePoint.Judge(Hit(blocked: 1UL << 13, usual: 0), Maps));
        Assert.Contains("KiB of stack left", RemoteLoaderIdlePoint.Judge(Hit(rsp: ThreadStack + 0x8000), Maps));
        Assert.Contains("is not in its memory", RemoteLoaderIdlePoint.Judge(Hit(rsp: 0x10), Maps));
    }

    [Fact]
    public void The_procfs_line_of_a_wait_in_libc_is_worth_a_kick()
    {
        Assert.Equal(new RemoteLoaderIdlePoint.Waiter("epoll_wait", 0x7f1000030000, 0x7f4000700000),
            RemoteLoaderIdlePoint.Waiting("232 0x3 0x7ffd1 0x1 0xffffffff 0x0 0x0 0x7f4000700000 0x7f1000030000\n", "do_epoll_wait", Maps));
        Assert.Equal("clock_nanosleep", RemoteLoaderIdlePoint.Waiting("230 0x0 0x0 0x7f40007ffe00 0x0 0x0 0x0 0x7f40007ffd00 0x7f1000030000", "hrtimer_nanosleep", Maps)?.Call);
        Assert.Null(RemoteLoaderIdlePoint.Waiting("202 0x5 0x80 0x0 0x0 0x0 0x0 0x7f40007ffd00 0x7f1000030000", "futex_do_wait", Maps));
        Assert.Null(RemoteLoaderIdlePoint.Waiting("232 0x3 0x7ffd1 0x1 0xffffffff 0x0 0x0 0x7f4000700000 0x7f2000002000", "do_epoll_wait", Maps));
        Assert.Null(RemoteLoaderIdlePoint.Waiting("running", null, Maps));
        Assert.Null(RemoteLoaderIdlePoint.Waiting("-1 0x7f4000700000 0x7f1000030000", "0", Maps));
    }

    [Fact]
    public void A_restarted_call_is_a_wait_only_as_its_wait_channel_says()
    {
        const string Restarted = "219 0x0 0x0 0x0 0x0 0x0 0x0 0x7f40007ffd00 0x7f1000030000";
        Assert.Equal("poll or select, restarted", RemoteLoaderIdlePoint.Waiting(Restarted, "poll_schedule_timeout.constprop.0\n", Maps)?.Call);
        Assert.Equal("clock_nanosleep, restarted", RemoteLoaderIdlePoint.Waiting(Restarted, "hrtimer_nanosleep", Maps)?.Call);
        // A futex wait with a timeout restarts the same way.
        Assert.Null(RemoteLoaderIdlePoint.Waiting(Restarted, "futex_do_wait", Maps));
        Assert.Null(RemoteLoaderIdlePoint.Waiting(Restarted, null, Maps));

        var again = Hit(RemoteLoaderIdlePoint.RestartSyscall, -RemoteLoaderIdlePoint.ERESTART_RESTARTBLOCK) with { Wait = "clock_nanosleep, restarted" };
        Assert.Null(RemoteLoaderIdlePoint.Judge(again, Maps));
        Assert.Contains("system call 219, not a waiting one", RemoteLoaderIdlePoint.Judge(again with { Wait = "restart_syscall" }, Maps));
        Assert.Contains("system call 219, not a waiting one",
            RemoteLoaderIdlePoint.Judge(Hit(RemoteLoaderIdlePoint.RestartSyscall, -RemoteLoaderIdlePoint.EINTR) with { Wait = "clock_nanosleep, restarted" }, Maps));
    }

    [Fact]
    public void An_epoll_calls_EINTR_is_put_back_as_a_restart_the_others_as_they_were()
    {
        var epoll = Hit().Registers;
        Assert.Equal(unchecked((ulong)-RemoteLoaderIdlePoint.ERESTARTNOHAND), RemoteLoaderIdlePoint.Restartable(epoll).Rax);
        Assert.Equal(epoll.OrigRax, RemoteLoaderIdlePoint.Restartable(epoll).OrigRax);
        var read = Hit(Read, -RemoteLoaderIdlePoint.ERESTARTSYS).Registers;
        Assert.Equal(read, RemoteLoaderIdlePoint.Restartable(read));
        // A read's EINTR is a socket timeout's answer, the program's to see.
        var timedOut = Hit(Read, -RemoteLoaderIdlePoint.EINTR).Registers;
        Assert.Equal(timedOut, RemoteLoaderIdlePoint.Restartable(timedOut));
        var running = new PtraceRegisters { Rax = unchecked((ulong)-RemoteLoaderIdlePoint.EINTR), OrigRax = PtraceRegisters.NoSystemCall };
        Assert.Equal(running, RemoteLoaderIdlePoint.Restartable(running));
    }

    [Fact]
    public void Left_to_the_stub_the_thread_makes_its_call_again()
    {
        var reissued = RemoteLoaderIdlePoint.Reissued(Hit(Nanosleep, -RemoteLoaderIdlePoint.ERESTART_RESTARTBLOCK).Registers);
        Assert.Equal(LibcCode - 2, reissued.Rip);
        Assert.Equal((ulong)Nanosleep, reissued.Rax);
        Assert.False(reissued.InSystemCall);
    }
}
