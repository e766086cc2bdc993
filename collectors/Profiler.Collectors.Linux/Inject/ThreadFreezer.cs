using System.Diagnostics;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Runs an action while every thread of a process is stopped (<see cref="ThreadFreezer"/>;
/// a fake in tests).</summary>
public interface IThreadFreezer
{
    /// <summary>Runs <paramref name="action"/> with the threads stopped; returns its result, or the
    /// reason the threads could not all be stopped (the action then does not run).</summary>
    (T? Result, string? Failure) Frozen<T>(int pid, Func<T> action, TimeSpan bound);
}

/// <summary>Runs an action while every thread of a process is stopped (PTRACE_SEIZE +
/// PTRACE_INTERRUPT, never SIGSTOP: should memprof die meanwhile, the kernel detaches the threads
/// and they run on, where a SIGSTOP'ed process would stay stopped). Threads started while the
/// others stop are caught too. Every wait is bounded.</summary>
public sealed class ThreadFreezer(Func<IPtrace> ptraceFactory) : IThreadFreezer
{
    public ThreadFreezer() : this(() => new Ptrace()) { }

    static readonly TimeSpan StopBound = TimeSpan.FromSeconds(1);

    public (T? Result, string? Failure) Frozen<T>(int pid, Func<T> action, TimeSpan bound)
    {
        (T? Result, string? Failure) outcome = (default, null);
        Exception? error = null;
        // ptrace ties a tracee to the OS thread that seized it: all of it runs on one thread.
        var thread = new Thread(() =>
        {
            try { outcome = Run(ptraceFactory(), pid, action, bound); }
            catch (Exception e) { error = e; }
        }) { IsBackground = true, Name = "memprof thread freezer" };
        thread.Start();
        thread.Join();
        if (error is not null) throw new InvalidOperationException("stopping the target's threads failed", error);
        return outcome;
    }

    static (T? Result, string? Failure) Run<T>(IPtrace ptrace, int pid, Func<T> action, TimeSpan bound)
    {
        var stopped = new Dictionary<int, int>(); // tid → signal to hand back on detach
        var clock = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                var fresh = Tasks(pid).Where(t => !stopped.ContainsKey(t)).ToList();
                if (fresh.Count == 0) break;
                if (clock.Elapsed > bound) return (default, $"the threads of process {pid} did not all stop within {bound.TotalSeconds:0.#} s");
                var interrupted = new List<int>();
                foreach (int tid in fresh)
                {
                    int errno = ptrace.Seize(tid);
                    if (errno == RemoteLoaderReasons.ESRCH) continue; // ended meanwhile
                    // A thread past its exit (a zombie until its process reaps it) refuses with EPERM.
                    if (errno != 0 && !Procfs.ProcessState.IsAlive(tid)) continue;
                    if (errno != 0) return (default, $"ptrace refused to stop thread {tid}: {Native.ErrorText(errno)}");
                    stopped[tid] = 0;
                    if (ptrace.Interrupt(tid) == 0) interrupted.Add(tid);
                }
                foreach (int tid in interrupted)
                {
                    // On a loaded machine a thread may wait its turn on a CPU for over a second
                    // before it stops: it is given what is left of the bound.
                    var wait = bound - clock.Elapsed > StopBound ? bound - clock.Elapsed : StopBound;
                    var status = ptrace.Wait(tid, wait);
                    if (status is null) return (default, $"thread {tid} of process {pid} did not stop within {wait.TotalSeconds:0.#} s");
                    if (status.Value.Kind == PtraceStopKind.Gone) { stopped.Remove(tid); continue; }
                    // A signal on its way to the thread is handed back when it is let go.
                    if (status.Value.Kind == PtraceStopKind.Signal) stopped[tid] = status.Value.Signal;
                }
                if (Tasks(pid).Count == 0) return (default, RemoteLoaderReasons.Gone(pid));
            }
            return (action(), null);
        }
        finally
        {
            foreach (var (tid, signal) in stopped)
            {
                // The interrupt ended any wait the thread was in, as a signal does: an epoll call
                // would return EINTR to a program that was sent nothing; it is restarted instead.
                RemoteLoaderIdlePoint.RestartWait(ptrace, tid);
                ptrace.Detach(tid, signal);
            }
        }
    }

    static List<int> Tasks(int pid)
    {
        try
        {
            return [.. Directory.GetDirectories($"/proc/{pid}/task")
                .Select(d => int.TryParse(Path.GetFileName(d), out int tid) ? tid : 0).Where(t => t > 0)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }
}
