using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>The second kind of safe point, for a thread that does not call the allocator: one
/// blocked in a waiting system call made through libc (epoll_wait, poll, read, nanosleep, …).
/// memprof sends it the marker signal itself; the signal ends the wait, and at its delivery stop
/// the thread is back at the system call's return, in libc, with the call to be restarted.
/// The load runs there, then the registers are put back and the kernel restarts the call on
/// resume, exactly as after any ignored signal.</summary>
public static class RemoteLoaderIdlePoint
{
    public const long EINTR = 4, ERESTARTSYS = 512, ERESTARTNOINTR = 513, ERESTARTNOHAND = 514, ERESTART_RESTARTBLOCK = 516;

    /// <summary>The waiting calls (x86-64 numbers) a thread may be caught in. Each only waits: it
    /// holds no lock of the allocator's or the loader's, and libc makes it with none of its own
    /// held but a stream's (fread's read), which the load does not take. Left out on purpose:
    /// futex (a thread waiting for a lock, malloc's arena lock among them, would run the loader
    /// with that lock's owner's work half done), anything that maps memory or opens files (the
    /// allocator and the loader make those calls themselves), rt_sigsuspend and rt_sigtimedwait
    /// (they run with a signal mask the program set only for the wait), and calls that report
    /// a signal as EINTR where the kernel would not restart them, but the epoll family.</summary>
    public static readonly IReadOnlyDictionary<long, string> Waits = new Dictionary<long, string>
    {
        [0] = "read", [7] = "poll", [23] = "select", [34] = "pause", [35] = "nanosleep",
        [43] = "accept", [45] = "recvfrom", [47] = "recvmsg", [61] = "wait4", [230] = "clock_nanosleep",
        [232] = "epoll_wait", [270] = "pselect6", [271] = "ppoll", [281] = "epoll_pwait",
        [288] = "accept4", [299] = "recvmmsg", [441] = "epoll_pwait2",
    };

    /// <summary>The epoll calls return -EINTR for any signal, even one ignored, rather than a
    /// restart code; their restart is memprof's to ask for.</summary>
    static readonly HashSet<long> ReportsEintr = [232, 281, 441];

    /// <summary>restart_syscall: what a thread whose poll, select or sleep was restarted after a
    /// signal (memprof's earlier attach, say) is in. Which call it continues is not in the
    /// registers: the thread's wait channel tells.</summary>
    public const long RestartSyscall = 219;

    /// <summary>Wait channels of a restarted call that only waits (never a futex's, whose timed
    /// waits restart the same way). A restarted sleep is not among them: its wait channel is the
    /// system-call entry itself (the sleep is inlined there), which names nothing.</summary>
    static readonly (string Prefix, string Call)[] RestartedWaits =
        [("poll_schedule_timeout", "poll or select, restarted"), ("do_sys_poll", "poll, restarted"), ("hrtimer_nanosleep", "clock_nanosleep, restarted"), ("do_nanosleep", "clock_nanosleep, restarted")];

    /// <summary>A thread that looks blocked in a waiting call made from libc, worth the marker signal.</summary>
    /// <param name="Pc">Its user pc and stack pointer: at the signal's stop they must be the same (the same call).</param>
    public readonly record struct Waiter(string Call, ulong Pc, ulong Sp);

    /// <summary>Whether /proc/PID/task/TID/syscall ("NR arg1 … arg6 sp pc") and its wait channel
    /// show a thread blocked in a waiting call made from libc's code.</summary>
    public static Waiter? Waiting(string syscallLine, string? waitChannel, IReadOnlyList<MapEntry> maps)
    {
        var fields = syscallLine.Trim().Split(' ');
        if (fields.Length < 9 || !long.TryParse(fields[0], out long number)) return null;
        string? name = number == RestartSyscall
            ? RestartedWaits.FirstOrDefault(w => waitChannel?.Trim().StartsWith(w.Prefix, StringComparison.Ordinal) == true).Call
            : Waits.GetValueOrDefault(number);
        if (name is null || !TryHex(fields[^1], out ulong pc) || !TryHex(fields[^2], out ulong sp)) return null;
        return IsLibcCode(RemoteLoaderSafePoint.Containing(maps, pc)) ? new Waiter(name, pc, sp) : null;
    }

    /// <summary>Null when the thread, stopped for memprof's marker signal, may run the load, else
    /// why not (one line). Each rule is what keeps the load safe there:
    /// <list type="bullet">
    /// <item>in a system call that is one of <see cref="Waits"/>: a waiting call holds no lock the load takes;</item>
    /// <item>its result a restart code (or -EINTR for epoll): the call did not complete, so putting
    /// the registers back lets the kernel make it again and the program sees nothing; a call that
    /// completed (data read, a timeout) would have its result lost;</item>
    /// <item>the pc in libc.so.6's code: libc's wrappers hold none of the loader's locks, the dynamic
    /// linker makes its own system calls while holding its lock, and a call made from elsewhere
    /// (a program's raw syscall, a JIT) may come from code whose state is unknown;</item>
    /// <item>the usual signal mask: a thread with another mask may be in a signal handler,
    /// interrupted in the middle of anything, the allocator included;</item>
    /// <item>enough stack below the frame for the loader.</item>
    /// </list></summary>
    public static string? Judge(RemoteLoaderHit hit, IReadOnlyList<MapEntry> maps)
    {
        var regs = hit.Registers;
        if (!regs.InSystemCall) return $"thread {hit.Tid} was woken outside a system call (at 0x{regs.Rip:x})";
        long number = (long)regs.OrigRax;
        long result = (long)regs.Rax;
        string? name = Waits.GetValueOrDefault(number);
        // A restarted call is a wait only as its wait channel said when it was kicked (hit.Wait),
        // and it must still be that restart (-ERESTART_RESTARTBLOCK again).
        if (number == RestartSyscall && hit.Wait is { } restarted && RestartedWaits.Any(w => w.Call == restarted) && result == -ERESTART_RESTARTBLOCK)
            name = restarted;
        if (name is null) return $"thread {hit.Tid} is in system call {number}, not a waiting one";
        bool restartable = result is -ERESTARTSYS or -ERESTARTNOINTR or -ERESTARTNOHAND or -ERESTART_RESTARTBLOCK
            || (result == -EINTR && ReportsEintr.Contains(number));
        if (!restartable) return $"thread {hit.Tid}'s {name} returned {result}, it would not be restarted";
        var code = RemoteLoaderSafePoint.Containing(maps, regs.Rip);
        if (!IsLibcCode(code))
            return $"thread {hit.Tid}'s {name} was made from {(code is null ? $"0x{regs.Rip:x}" : Path.GetFileName(code.Path))}, not from libc";
        return RemoteLoaderSafePoint.MaskAndStack(hit, maps);
    }

    /// <summary>The registers to put back so that the kernel restarts the interrupted call: as
    /// they were, but an epoll call's -EINTR becomes -ERESTARTNOHAND, which the kernel restarts
    /// when no handler runs and turns back into EINTR when one does, as the program would have
    /// seen without memprof. A thread not in such a call is returned unchanged.</summary>
    public static PtraceRegisters Restartable(PtraceRegisters regs)
    {
        if (regs.InSystemCall && ReportsEintr.Contains((long)regs.OrigRax) && (long)regs.Rax == -EINTR)
            regs.Rax = unchecked((ulong)-ERESTARTNOHAND);
        return regs;
    }

    /// <summary>For a thread memprof stopped (a signal, an interrupt): an epoll call that stop
    /// ended is made to restart, through <see cref="Restartable"/>, instead of returning EINTR to a
    /// program that was sent nothing. Registers are written only when that changes them.</summary>
    public static void RestartWait(IPtrace ptrace, int tid)
    {
        if (ptrace.GetRegisters(tid, out var regs) != 0) return;
        var restarted = Restartable(regs);
        if (restarted.Rax != regs.Rax) ptrace.SetRegisters(tid, restarted);
    }

    /// <summary>The registers the stub restores by itself when memprof is gone before it could
    /// (the system-call number cannot be set from user space): back on the syscall instruction
    /// with its number in rax, so the thread makes the call again rather than return a restart
    /// code to the program. A sleep then starts over: it lasts longer, never shorter.</summary>
    public static PtraceRegisters Reissued(PtraceRegisters regs)
    {
        regs.Rip -= SyscallLength;
        regs.Rax = regs.OrigRax;
        regs.OrigRax = PtraceRegisters.NoSystemCall;
        return regs;
    }

    /// <summary>x86-64's syscall instruction (0f 05).</summary>
    public const ulong SyscallLength = 2;

    static bool IsLibcCode(MapEntry? map) =>
        map is not null && map.IsExecutable && Path.GetFileName(map.Path) == "libc.so.6";

    static bool TryHex(string text, out ulong value) =>
        ulong.TryParse(text.StartsWith("0x") ? text[2..] : text, System.Globalization.NumberStyles.HexNumber, null, out value);
}
