using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Makes the safe point's probe on the allocator's file (as this process sees it) for the
/// entries' file offsets, or says why it cannot.</summary>
public delegate (ISafePointProbe? Probe, string? Failure) SafePointProbeFactory(int pid, string path, IReadOnlyList<ulong> offsets);

/// <summary>Loads a shared library into a running process: catches one of its threads at an
/// allocator's entry (a safe point: it holds no allocator or loader lock), makes it call
/// dlopen through a stub, and puts it back as it was. No other thread is ever stopped but to
/// be let go at the end.</summary>
public sealed class RemoteLoader(IPtrace ptrace, IRemoteLoaderTarget target, SafePointProbeFactory probes)
{
    public RemoteLoader() : this(new Ptrace(), new ProcfsRemoteLoaderTarget(), SafePointProbe.Create) { }

    /// <summary>Loads <paramref name="library"/> (an absolute path, as the target sees it) into
    /// process <paramref name="pid"/>. Never throws for an expected failure: the result says why.</summary>
    public RemoteLoadResult Load(int pid, string library, RemoteLoaderOptions? options = null) => Run(pid, library, null, options);

    /// <summary>Calls <paramref name="function"/> (no arguments) at a safe point in process
    /// <paramref name="pid"/>, where <paramref name="library"/> (which holds it) is loaded; its
    /// result comes back as <see cref="RemoteLoadResult.Handle"/>, and a result of 0 is a failure.</summary>
    public RemoteLoadResult Call(int pid, string library, ulong function, RemoteLoaderOptions? options = null) => Run(pid, library, function, options);

    RemoteLoadResult Run(int pid, string library, ulong? function, RemoteLoaderOptions? options)
    {
        options ??= RemoteLoaderOptions.Default;
        library = Native.CanonicalPath(library);
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return RemoteLoadResult.Failed($"loading into a running process is implemented for x86-64 only, not {RuntimeInformation.ProcessArchitecture}");

        // ptrace binds a tracee to the OS thread that seized it, so the whole load runs on one
        // thread of its own. If memprof is asked to exit meanwhile, the exit waits for the load
        // to finish: leaving mid-way would leave debug registers set, whose next hit kills the target.
        RemoteLoadResult? result = null;
        ExceptionDispatchInfo? error = null;
        // Not disposed: the exit handler may still be running when the load returns.
        var done = new ManualResetEventSlim();
        var bound = options.SafePointTimeout + options.CallTimeout + TimeSpan.FromSeconds(5);
        EventHandler waitForLoad = (_, _) => done.Wait(bound);
        AppDomain.CurrentDomain.ProcessExit += waitForLoad;
        var thread = new Thread(() =>
        {
            try { result = new RemoteLoaderRun(ptrace, target, probes, pid, library, function, options).Run(); }
            catch (Exception e) { error = ExceptionDispatchInfo.Capture(e); }
            finally { done.Set(); }
        }) { IsBackground = true, Name = "memprof remote loader" };
        thread.Start();
        thread.Join();
        AppDomain.CurrentDomain.ProcessExit -= waitForLoad;
        error?.Throw();
        return result!;
    }
}

/// <summary>One load, on the thread that does all its ptrace calls.</summary>
sealed class RemoteLoaderRun(IPtrace ptrace, IRemoteLoaderTarget target, SafePointProbeFactory probes, int pid, string library, ulong? function, RemoteLoaderOptions options)
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly List<string> _rejected = [];
    readonly List<string> _notes = [];

    public RemoteLoadResult Run()
    {
        var maps = target.Maps(pid);
        if (maps.Count == 0) return RemoteLoadResult.Failed(RemoteLoaderReasons.Gone(pid));
        bool mapped = maps.Any(m => m.Path == library);
        if (function is null && mapped) return new RemoteLoadResult(true, true, null);
        if (function is not null && !mapped) return RemoteLoadResult.Failed($"{library} is not loaded in process {pid}");
        if (RemoteLoaderReasons.Seccomp(pid, target.SeccompMode(pid), options.UnderSeccompFilter) is { } sandboxed)
            return RemoteLoadResult.Failed(sandboxed);
        var (plan, failure) = RemoteLoaderPlanner.Plan(maps, target.Modules(pid, maps), target.Executable(pid), library);
        if (plan is null) return RemoteLoadResult.Failed(failure!);

        var before = target.Threads(pid);
        Thread.Sleep(20);
        var now = target.Threads(pid);
        var candidates = RemoteLoaderThreads.Choose(before, now, options.Threads).ToList();
        if (candidates.Count == 0) return RemoteLoadResult.Failed(RemoteLoaderReasons.Gone(pid));
        // The busiest threads are the ones to call the allocator; in an idle process they may all
        // be in futex waits while the thread that waits for work (epoll_wait) used little CPU:
        // a few threads blocked in a wait in libc are watched too, for the second safe point.
        candidates.AddRange(now.Select(t => t.Tid)
            .Where(t => !candidates.Contains(t) && target.SystemCall(pid, t) is { } line && RemoteLoaderIdlePoint.Waiting(line, target.WaitChannel(pid, t), maps) is not null)
            .Take(options.Threads));

        // The marker must be one the program would drop if it were left pending (this process dead).
        if (target.Signals(pid, pid) is not { } state) return RemoteLoadResult.Failed(RemoteLoaderReasons.Gone(pid));
        int signal = RemoteLoaderSignals.Marker(state with { Blocked = 0 });
        if (signal == 0) return RemoteLoadResult.Failed(RemoteLoaderReasons.NoMarkerSignal(pid));
        string root = $"/proc/{pid}/root{plan.Allocator}";
        var (probe, refused) = probes(pid, File.Exists(root) ? root : plan.Allocator, plan.Entries.Select(e => e.FileOffset).ToList());
        if (probe is null) return RemoteLoadResult.Failed(refused!);

        var watch = new RemoteLoaderWatch(ptrace, target, pid, plan, probe, signal);
        var start = _clock.Elapsed;
        (RemoteLoaderHit Hit, IReadOnlyList<Procfs.MapEntry> Maps)? caught;
        TimeSpan arming;
        try
        {
            if (watch.Arm(candidates) is { } failed)
            {
                watch.ReleaseAllBut(null, _notes);
                probe.Dispose();
                return RemoteLoadResult.Failed(failed);
            }
            arming = _clock.Elapsed - start;
            caught = watch.WaitForSafePoint(options.SafePointTimeout, _rejected);
        }
        catch
        {
            watch.ReleaseAllBut(null, _notes);
            probe.Dispose();
            throw;
        }
        var hit = caught?.Hit;
        var toSafePoint = _clock.Elapsed - start;
        bool allEnded = watch.Armed == 0;
        watch.ReleaseAllBut(hit?.Tid, _notes);
        // Removing the probe waits for an RCU grace period: done beside the call, not before it.
        var removed = Task.Run(probe.Dispose);
        if (hit is null)
        {
            removed.Wait();
            return RemoteLoadResult.Failed(allEnded && _rejected.Count == 0
                ? RemoteLoaderReasons.Gone(pid)
                : RemoteLoaderReasons.NoSafePoint(pid, options.SafePointTimeout, watch.Watched, _rejected), _rejected);
        }

        var loader = new RemoteLoaderCall(ptrace, pid, hit.Tid, plan, library, function);
        RemoteLoaderCall.Outcome call;
        string where;
        if (hit.Wait is { } wait)
        {
            // Caught in a waiting call: memprof puts the call back to be restarted by the kernel;
            // the stub, if left to restore the thread alone, makes the call again.
            call = loader.Run(RemoteLoaderIdlePoint.Reissued(hit.Registers), RemoteLoaderSignals.Marker(hit.Signals), options.CallTimeout,
                RemoteLoaderIdlePoint.Restartable(hit.Registers));
            where = $"{wait} waiting in libc";
        }
        else
        {
            var entry = plan.Entries.First(e => e.EntryStackPointer(hit.Registers.Rip, hit.Registers.Rsp) is not null).Name;
            string caller = caught!.Value.Maps.FirstOrDefault(m => m.Start <= hit.ReturnAddress && hit.ReturnAddress < m.End)?.Path is { } path ? Path.GetFileName(path) : "?";
            call = loader.Run(hit.Registers, RemoteLoaderSignals.Marker(hit.Signals), options.CallTimeout);
            where = $"{entry} called from {caller}";
        }
        removed.Wait();
        return new RemoteLoadResult(call.Handle != 0, false, call.Failure, call.Handle, hit.Tid, where,
            toSafePoint, call.Duration, _clock.Elapsed, _rejected, call.Stops, _notes, arming);
    }
}
