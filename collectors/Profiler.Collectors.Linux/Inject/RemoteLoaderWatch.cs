using System.Diagnostics;
using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Watches a few threads for a safe point with their debug registers: each one set on
/// the allocator's entries traps that thread alone, when it gets there, and costs the others
/// nothing. A thread is stopped only while its registers are set and cleared.</summary>
sealed class RemoteLoaderWatch(IPtrace ptrace, IRemoteLoaderTarget target, int pid, RemoteLoaderPlan plan)
{
    const int TRAP_HWBKPT = 4;
    static readonly TimeSpan StopBound = TimeSpan.FromSeconds(1);

    /// <summary>The armed threads, with their blocked signals when first stopped.</summary>
    readonly Dictionary<int, ulong> _armed = [];
    /// <summary>Seized threads that did not stop when interrupted (in an uninterruptible wait):
    /// nothing was set on them, but they are let go only once they stop.</summary>
    readonly List<int> _stragglers = [];

    public int Armed => _armed.Count;
    public int Watched { get; private set; }

    /// <summary>Seizes and arms the threads; null when at least one is armed, else why none could be.</summary>
    public string? Arm(IReadOnlyList<int> tids)
    {
        string? failure = null;
        // Every thread is interrupted first, then each one's stop is waited for: they stop together,
        // rather than one after the other (each stop costs the tracee a turn on a CPU).
        var interrupted = new List<int>();
        foreach (int tid in tids)
        {
            int errno = ptrace.Seize(tid);
            if (errno != 0)
                failure = RemoteLoaderReasons.PtraceRefused(pid, errno, Native.ErrorText(errno), target.YamaScope(), target.TracerOf(pid, tid), target.Privileged());
            else if (ptrace.Interrupt(tid) == 0)
                interrupted.Add(tid);
        }
        foreach (int tid in interrupted)
        {
            if (!StopQuietly(tid, out int pending, out bool gone))
            {
                if (!gone) _stragglers.Add(tid);
                failure ??= RemoteLoaderReasons.Gone(pid);
                continue;
            }
            int errno = SetEntries(tid);
            if (errno != 0)
            {
                ptrace.Detach(tid, pending);
                failure = $"the debug registers of thread {tid} cannot be set ({Native.ErrorText(errno)})";
                continue;
            }
            _armed[tid] = target.Signals(pid, tid)?.Blocked ?? 0;
            ptrace.Continue(tid, pending);
        }
        Watched = _armed.Count;
        return _armed.Count > 0 ? null : failure ?? RemoteLoaderReasons.Gone(pid);
    }

    /// <summary>Waits for an armed thread to stop at a safe point; it is left stopped there, its
    /// debug registers still set. Threads caught elsewhere are let go on, and noted. The maps
    /// are read again at each trap: threads started and libraries loaded since count.</summary>
    public (RemoteLoaderHit Hit, IReadOnlyList<MapEntry> Maps)? WaitForSafePoint(TimeSpan bound, List<string> rejected)
    {
        var clock = Stopwatch.StartNew();
        while (_armed.Count > 0 && clock.Elapsed < bound)
        {
            bool any = false;
            foreach (int tid in _armed.Keys.ToList())
            {
                if (ptrace.Poll(tid) is not { } status) continue;
                any = true;
                switch (status.Kind)
                {
                    case PtraceStopKind.Gone:
                        _armed.Remove(tid);
                        break;
                    case PtraceStopKind.Signal when status.Signal == PtraceStatus.SIGTRAP && IsOurTrap(tid):
                        var maps = target.Maps(pid);
                        if (Judge(tid, maps) is { } hit) return (hit, maps);
                        // The kernel sets the resume flag: the thread does not trap on the same instruction again.
                        ptrace.Continue(tid, 0);
                        break;
                    case PtraceStopKind.Signal:
                        ptrace.Continue(tid, status.Signal);
                        break;
                    case PtraceStopKind.GroupStop:
                        // Stopped by job control: it will not allocate until continued.
                        Release(tid, 0);
                        break;
                    default:
                        ptrace.Continue(tid, 0);
                        break;
                }
            }
            if (!any)
            {
                if (clock.ElapsedMilliseconds < 200) Thread.Yield();
                else Thread.Sleep(1);
            }
        }
        return null;

        RemoteLoaderHit? Judge(int tid, IReadOnlyList<MapEntry> maps)
        {
            if (ptrace.GetRegisters(tid, out var regs) != 0 || ptrace.ReadWord(tid, regs.Rsp, out var returnAddress) != 0) return null;
            if (target.Signals(pid, tid) is not { } signals) return null;
            var hit = new RemoteLoaderHit(tid, regs, returnAddress, signals, _armed[tid]);
            if (RemoteLoaderSafePoint.Judge(hit, plan, maps) is not { } why) return hit;
            if (rejected.Count < 100) rejected.Add(why);
            return null;
        }
    }

    /// <summary>A trap from a debug register (the program's own SIGTRAPs, sent or from an int3, have other codes).</summary>
    bool IsOurTrap(int tid) => ptrace.GetSignalCode(tid, out int code) == 0 && code == TRAP_HWBKPT;

    /// <summary>Clears the debug registers of every armed thread but <paramref name="keep"/> and
    /// lets them go. An armed thread is never let go armed (its next trap, untraced, would kill
    /// the process): one slow to stop is waited for, as long as it takes.</summary>
    public void DisarmAllBut(int? keep, List<string> notes)
    {
        foreach (int tid in _armed.Keys.Where(t => t != keep).ToList())
        {
            if (ptrace.Interrupt(tid) != 0)
            {
                notes.Add($"thread {tid} could not be interrupted to clear its debug registers");
                _armed.Remove(tid);
                continue;
            }
            var clock = Stopwatch.StartNew();
            bool stopped, gone;
            int pending;
            while (!(stopped = StopQuietly(tid, out pending, out gone)) && !gone)
                notes.Add($"thread {tid} has not stopped {clock.Elapsed.TotalSeconds:0.#} s after its interrupt");
            if (stopped) Release(tid, pending);
            _armed.Remove(tid);
        }
        foreach (int tid in _stragglers)
            if (StopQuietly(tid, out int pending, out _)) ptrace.Detach(tid, pending);
        _stragglers.Clear();
    }

    /// <summary>Clears the thread's debug registers and detaches, delivering <paramref name="signal"/>.
    /// A trap the thread took just before its interrupt may still be queued (the interrupt's stop
    /// is reported before signals are dequeued): untraced, it would kill the process, so the
    /// thread is let run until the trap comes out, and the trap is dropped.</summary>
    void Release(int tid, int signal)
    {
        ptrace.SetDebugRegister(tid, 7, 0);
        for (int i = 0; i < plan.Entries.Count; i++) ptrace.SetDebugRegister(tid, i, 0);
        for (int round = 0; round < 8 && target.Signals(pid, tid) is { } state && state.IsPending(PtraceStatus.SIGTRAP); round++)
        {
            ptrace.Continue(tid, signal);
            signal = 0;
            var status = ptrace.Wait(tid, StopBound);
            if (status is null)
            {
                ptrace.Interrupt(tid);
                status = ptrace.Wait(tid, StopBound);
            }
            if (status is not { Kind: not PtraceStopKind.Gone } stop)
            {
                _armed.Remove(tid);
                return;
            }
            if (stop.Kind == PtraceStopKind.Signal && !(stop.Signal == PtraceStatus.SIGTRAP && IsOurTrap(tid)))
                signal = stop.Signal;
        }
        ptrace.Detach(tid, signal);
        _armed.Remove(tid);
    }

    int SetEntries(int tid)
    {
        ulong control = 0;
        for (int i = 0; i < plan.Entries.Count && i < 4; i++)
        {
            if (ptrace.SetDebugRegister(tid, i, plan.Entries[i].Address) is int e and not 0) return e;
            control |= 1UL << (2 * i); // local enable; length and type 0: execution of that byte
        }
        return ptrace.SetDebugRegister(tid, 7, control);
    }

    /// <summary>Waits for the thread to stop after an interrupt. A signal that arrives first is
    /// kept for delivery (in <paramref name="pending"/>), except our own debug trap, which is dropped.</summary>
    bool StopQuietly(int tid, out int pending, out bool gone)
    {
        pending = 0;
        var waited = ptrace.Wait(tid, StopBound);
        gone = waited?.Kind == PtraceStopKind.Gone;
        if (waited is not { } status || gone) return false;
        if (status.Kind == PtraceStopKind.Signal && !(status.Signal == PtraceStatus.SIGTRAP && IsOurTrap(tid)))
            pending = status.Signal;
        return true;
    }
}
