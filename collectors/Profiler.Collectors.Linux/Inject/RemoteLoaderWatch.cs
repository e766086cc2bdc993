using System.Diagnostics;
using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Watches a few threads for a safe point without stopping them: they are seized (traced,
/// still running), and the safe point's probe sends one of them the marker signal at an
/// allocator's entry; its delivery stop is the catch. Nothing is set in the threads themselves:
/// if this process dies, the kernel lets them go and removes the probe, and a marker signal
/// still pending is one the program ignores.</summary>
sealed class RemoteLoaderWatch(IPtrace ptrace, IRemoteLoaderTarget target, int pid, RemoteLoaderPlan plan, ISafePointProbe probe, int signal)
{
    /// <summary>si_code of a signal the kernel sent (bpf_send_signal_thread's), not a process.</summary>
    public const int SI_KERNEL = 0x80;
    /// <summary>si_code of a signal sent by tgkill: memprof's kick of a waiting thread.</summary>
    public const int SI_TKILL = -6;
    /// <summary>How long the allocator is waited for before threads blocked in a waiting call are
    /// kicked: a busy thread's allocator call is the better catch, an idle process has none.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromMilliseconds(250);
    static readonly TimeSpan StopBound = TimeSpan.FromSeconds(1);

    /// <summary>The watched threads, with their blocked signals when seized.</summary>
    readonly Dictionary<int, ulong> _watched = [];
    /// <summary>Threads sent the marker by memprof (each once), caught at its delivery in their wait.</summary>
    readonly Dictionary<int, RemoteLoaderIdlePoint.Waiter> _kicked = [];
    public int Kicked => _kicked.Count;

    public int Armed => _watched.Count;
    public int Watched { get; private set; }

    /// <summary>Seizes the threads (none is stopped) and opens the probe; null when at least one
    /// is watched, else why none could be. A thread that blocks the marker signal is left alone.</summary>
    public string? Arm(IReadOnlyList<int> tids)
    {
        string? failure = null;
        ulong bit = 1UL << (signal - 1);
        foreach (int tid in tids)
        {
            if (target.Signals(pid, tid) is not { } state || (state.Blocked & bit) != 0) continue;
            int errno = ptrace.Seize(tid);
            if (errno != 0)
            {
                failure = RemoteLoaderReasons.PtraceRefused(pid, errno, Native.ErrorText(errno), target.YamaScope(), target.TracerOf(pid, tid), target.Privileged());
                continue;
            }
            _watched[tid] = state.Blocked;
            probe.Watch(tid);
        }
        Watched = _watched.Count;
        if (_watched.Count == 0) return failure ?? $"no thread of process {pid} can be watched: each blocks signal {signal}, the safe point's marker";
        probe.Open(signal);
        return null;
    }

    /// <summary>Waits for a watched thread to stop for the probe's signal at a safe point; it is
    /// left stopped there (the signal not delivered yet). A thread caught elsewhere is let go on,
    /// the signal dropped, and the probe opened again. The program's own signals pass through.</summary>
    public (RemoteLoaderHit Hit, IReadOnlyList<MapEntry> Maps)? WaitForSafePoint(TimeSpan bound, List<string> rejected)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            while (_watched.Count > 0 && clock.Elapsed < bound)
            {
                if (clock.Elapsed >= IdleAfter) KickWaiting();
                bool any = false;
                foreach (int tid in _watched.Keys.ToList())
                {
                    if (ptrace.Poll(tid) is not { } status) continue;
                    any = true;
                    switch (status.Kind)
                    {
                        case PtraceStopKind.Gone:
                            _watched.Remove(tid);
                            break;
                        case PtraceStopKind.Signal when IsKick(tid, status):
                            var seen = target.Maps(pid);
                            if (JudgeWaiting(tid, seen) is { } idle) return (idle, seen);
                            ResumeRestarting(tid);
                            break;
                        case PtraceStopKind.Signal when IsMarker(tid, status):
                            var maps = target.Maps(pid);
                            if (Judge(tid, maps) is { } hit) return (hit, maps);
                            ptrace.Continue(tid, 0);
                            probe.Open(signal);
                            break;
                        case PtraceStopKind.Signal:
                            ptrace.Continue(tid, status.Signal);
                            break;
                        case PtraceStopKind.GroupStop:
                            // Stopped by job control: it will not allocate until continued.
                            ptrace.Detach(tid, 0);
                            _watched.Remove(tid);
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
        }
        finally { probe.Close(); }

        RemoteLoaderHit? Judge(int tid, IReadOnlyList<MapEntry> maps)
        {
            if (ptrace.GetRegisters(tid, out var regs) != 0) return null;
            ulong returnAddress = 0;
            if (RemoteLoaderSafePoint.EntryStackPointer(plan, regs) is { } atEntry && ptrace.ReadWord(tid, atEntry, out returnAddress) != 0) return null;
            if (target.Signals(pid, tid) is not { } signals) return null;
            var hit = new RemoteLoaderHit(tid, regs, returnAddress, signals, _watched[tid]);
            if (RemoteLoaderSafePoint.Judge(hit, plan, maps) is not { } why) return hit;
            if (rejected.Count < 100) rejected.Add(why);
            return null;
        }

        RemoteLoaderHit? JudgeWaiting(int tid, IReadOnlyList<MapEntry> maps)
        {
            if (ptrace.GetRegisters(tid, out var regs) != 0) return null;
            if (target.Signals(pid, tid) is not { } signals) return null;
            var kicked = _kicked[tid];
            var hit = new RemoteLoaderHit(tid, regs, 0, signals, _watched[tid], (long)regs.OrigRax == RemoteLoaderIdlePoint.RestartSyscall
                ? kicked.Call : RemoteLoaderIdlePoint.Waits.GetValueOrDefault((long)regs.OrigRax, "?"));
            // Elsewhere than when it was kicked: not the call that was judged a wait.
            string? why = regs.Rip != kicked.Pc || regs.Rsp != kicked.Sp
                ? $"thread {tid} left its {kicked.Call} before the signal came"
                : RemoteLoaderIdlePoint.Judge(hit, maps);
            if (why is null) return hit;
            if (rejected.Count < 100) rejected.Add(why);
            return null;
        }
    }

    /// <summary>Sends the marker to each watched thread blocked in a waiting call made from libc,
    /// once: traced, it stops for the signal even though the program ignores it, and the wait
    /// ends with a restart code. A thread whose call ended meanwhile gets a signal it ignores.</summary>
    void KickWaiting()
    {
        IReadOnlyList<MapEntry>? maps = null;
        foreach (int tid in _watched.Keys)
        {
            if (_kicked.ContainsKey(tid) || target.SystemCall(pid, tid) is not { } line) continue;
            maps ??= target.Maps(pid);
            if (RemoteLoaderIdlePoint.Waiting(line, target.WaitChannel(pid, tid), maps) is not { } waiter) continue;
            if (target.Kick(pid, tid, signal) == 0) _kicked[tid] = waiter;
        }
    }

    /// <summary>Memprof's own kick, not the probe's signal nor the program's: the program may send
    /// the same signal with tgkill, but it ignores that signal, so treating its signal as the kick
    /// drops nothing the program would have handled.</summary>
    bool IsKick(int tid, PtraceStatus status) =>
        _kicked.ContainsKey(tid) && status.Signal == signal && ptrace.GetSignalCode(tid, out int code) == 0 && code == SI_TKILL;

    /// <summary>Lets a thread stopped in a system call go on with the call restarted (see
    /// <see cref="RemoteLoaderIdlePoint.Restartable"/>), the marker dropped.</summary>
    void ResumeRestarting(int tid)
    {
        RestartWait(tid);
        ptrace.Continue(tid, 0);
    }

    /// <summary>An epoll call ended by memprof's signal or interrupt is made to restart instead of returning EINTR.</summary>
    void RestartWait(int tid) => RemoteLoaderIdlePoint.RestartWait(ptrace, tid);

    /// <summary>The probe's signal (sent by the kernel), not the same signal sent by the program.</summary>
    bool IsMarker(int tid, PtraceStatus status) =>
        status.Signal == signal && ptrace.GetSignalCode(tid, out int code) == 0 && code == SI_KERNEL;

    /// <summary>Lets every watched thread but <paramref name="keep"/> go: each is interrupted (a
    /// seized thread is detached only from a stop) and detached, a pending marker dropped, any
    /// other signal passed on. A thread slow to stop is waited for: left traced, its next signal
    /// would stop it with nobody to continue it while this process lives.</summary>
    public void ReleaseAllBut(int? keep, List<string> notes)
    {
        foreach (int tid in _watched.Keys.Where(t => t != keep).ToList())
        {
            _watched.Remove(tid);
            if (ptrace.Interrupt(tid) != 0) continue;
            var clock = Stopwatch.StartNew();
            PtraceStatus? waited;
            while ((waited = ptrace.Wait(tid, StopBound)) is null && clock.Elapsed < ReleaseBound)
                notes.Add($"thread {tid} has not stopped {clock.Elapsed.TotalSeconds:0.#} s after its interrupt");
            if (waited is not { } status || status.Kind == PtraceStopKind.Gone) continue;
            // The interrupt ends a wait as a signal does: an epoll call would return EINTR.
            RestartWait(tid);
            bool deliver = status.Kind == PtraceStopKind.Signal && !IsMarker(tid, status) && !IsKick(tid, status);
            ptrace.Detach(tid, deliver ? status.Signal : 0);
        }
    }

    /// <summary>How long a thread is waited for to be let go; past that it stays traced until this process exits.</summary>
    static readonly TimeSpan ReleaseBound = TimeSpan.FromSeconds(30);
}
