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
    /// <summary>How long a thread caught inside one of its signal handlers is left to run before
    /// it may be caught again. Signals keep coming while it is stopped, and on resuming it
    /// handles them first: caught again at once, it would be in a handler again, every time,
    /// in a program whose handlers allocate and whose signals come often.</summary>
    public static readonly TimeSpan HandlerPause = TimeSpan.FromMilliseconds(3);
    /// <summary>How often one thread is sent the marker in its wait, at most: again only after a
    /// kick was refused (a signal of the program's was handled first, say), <see cref="KickPause"/>
    /// after it. Each kick ends the wait (an epoll wait then restarts its whole timeout).</summary>
    const int KicksPerThread = 16;
    static readonly TimeSpan KickPause = TimeSpan.FromMilliseconds(10);

    /// <summary>The watched threads, with their usual blocked signals: when seized, and the fewest
    /// seen since at its stops (see <see cref="RemoteLoaderSafePoint.Usual"/>).</summary>
    readonly Dictionary<int, ulong> _watched = [];
    /// <summary>Threads sent the marker by memprof and not stopped for it yet; how many times each was sent it.</summary>
    readonly Dictionary<int, RemoteLoaderIdlePoint.Waiter> _kicked = [];
    readonly Dictionary<int, int> _kicks = [];
    TimeSpan _kickAfter = IdleAfter;
    public int Kicked => _kicks.Count;

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
        TimeSpan? reopenAt = null;
        var lastStop = TimeSpan.Zero;
        bool inHandler = false;
        try
        {
            while (_watched.Count > 0 && clock.Elapsed < bound)
            {
                if (clock.Elapsed >= _kickAfter) KickWaiting();
                if (reopenAt is { } at && clock.Elapsed >= at)
                {
                    probe.Open(signal);
                    reopenAt = null;
                }
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
                            // Its stop is over: it may be kicked again, in a while.
                            _kicked.Remove(tid);
                            _kickAfter = clock.Elapsed + KickPause;
                            break;
                        case PtraceStopKind.Signal when IsMarker(tid, status):
                            var maps = target.Maps(pid);
                            if (Judge(tid, maps) is { } hit) return (hit, maps);
                            ptrace.Continue(tid, 0);
                            if (inHandler) reopenAt ??= clock.Elapsed + HandlerPause;
                            else if (reopenAt is null) probe.Open(signal);
                            break;
                        case PtraceStopKind.Signal:
                            // The program's signal, before its handler runs: the mask is the interrupted code's.
                            Observe(tid);
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
                // Spin while threads stop (each signal of the program's stops a traced thread until
                // it is continued here: a millisecond's sleep per signal would hold back a thread that
                // gets thousands a second); sleep once they have been quiet for a while.
                if (any) lastStop = clock.Elapsed;
                else if (clock.Elapsed - lastStop < TimeSpan.FromMilliseconds(200)) Thread.Yield();
                else Thread.Sleep(1);
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
            inHandler = signals.Blocked != _watched[tid];
            if (RemoteLoaderSafePoint.Judge(hit, plan, maps) is not { } why) return hit;
            if (rejected.Count < 100) rejected.Add(why);
            Observe(tid);
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
            Observe(tid);
            return null;
        }
    }

    /// <summary>One more look at a stopped thread's mask (its own: a mask a waiting call set for
    /// itself is not it), to know what it blocks outside its handlers: see <see cref="RemoteLoaderSafePoint.Usual"/>.</summary>
    void Observe(int tid)
    {
        if (ptrace.GetSignalMask(tid, out ulong mask) == 0) _watched[tid] = RemoteLoaderSafePoint.Usual(_watched[tid], mask);
    }

    /// <summary>Sends the marker to each watched thread blocked in a waiting call made from libc,
    /// one at a time (again only once its last one was seen, and at most <see cref="KicksPerThread"/>
    /// times): traced, it stops for the signal even though the program ignores it, and the wait
    /// ends with a restart code. A thread whose call ended meanwhile gets a signal it ignores.</summary>
    void KickWaiting()
    {
        IReadOnlyList<MapEntry>? maps = null;
        foreach (int tid in _watched.Keys)
        {
            if (_kicked.ContainsKey(tid) || _kicks.GetValueOrDefault(tid) >= KicksPerThread || target.SystemCall(pid, tid) is not { } line) continue;
            maps ??= target.Maps(pid);
            if (RemoteLoaderIdlePoint.Waiting(line, target.WaitChannel(pid, tid), maps) is not { } waiter) continue;
            if (target.Kick(pid, tid, signal) != 0) continue;
            _kicked[tid] = waiter;
            _kicks[tid] = _kicks.GetValueOrDefault(tid) + 1;
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
