using System.Diagnostics;
using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Collectors.Linux.Session;
using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.Linux;

public sealed record RecordSessionOptions(
    string OutputPath,
    IReadOnlyList<string> Command,
    int? Pid,
    TimeSpan? Duration,
    string MemprofVersion)
{
    public ulong SampleRateBytes { get; init; } = Core.Sampling.PoissonSampling.DefaultRateBytes;
    public bool FollowChildren { get; init; } = true;
    public UnwindMode Unwind { get; init; } = UnwindMode.Auto;
    /// <summary>User stack copied per sample when unwinding with DWARF.</summary>
    public int StackCopyBytes { get; init; } = 64 * 1024;
    /// <summary>Whether jemalloc's own sampling replaces the probes on every call where it can.</summary>
    public AllocatorMode AllocatorMode { get; init; } = AllocatorMode.Auto;
    /// <summary>A launched command's stdout and stderr go to this file (null: inherited).</summary>
    public string? TargetOutputPath { get; init; }
    /// <summary>--buffer: bytes of each thread's shared ring, and of the BPF ring buffer (null: sized from the rate).</summary>
    public ulong? BufferBytes { get; init; }
    /// <summary>Frequent samples of a launched command or an injected process go through shared rings (false: every one traps on a marker, for comparison).</summary>
    public bool SharedRings { get; init; } = true;

    public TracerSettings TracerSettings(bool dwarf) => new(SampleRateBytes, dwarf ? StackCopyBytes : 0, FollowChildren) { RingBufferBytes = BufferBytes };
}

/// <summary>How sampled stacks are taken: the kernel's frame-pointer walk, a stack copy unwound
/// with DWARF CFI in user space, or whichever suits the target's executable.</summary>
/// <summary>DwarfCopy: DWARF, but a launched command's in-process sampler copies every stack for
/// memprof to unwind rather than unwinding it itself (the way the kernel path works; slower, for comparing).</summary>
public enum UnwindMode { Auto, FramePointer, Dwarf, DwarfCopy }

public sealed record RecorderStatus(TimeSpan Elapsed, long Events, double EventsPerSecond, ulong Lost, int Processes);

public sealed record RecordSessionResult(int TargetPid, int? CommandExitCode, long Events, ulong LostEvents, int Probes, string Mode, int Processes)
{
    /// <summary>What the user should know of the programs the command ran, each said once.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>How long putting an injected process's allocator slots back took (null: not injected).</summary>
    public TimeSpan? SlotsRestored { get; init; }
    /// <summary>What of an injected process could not be put back (null: everything): the recording
    /// is complete, but memprof must not end as if all went well.</summary>
    public string? DetachFailure { get; init; }

    /// <summary>Events whose writer waited for memprof to make room in a shared ring (nothing was lost).</summary>
    public ulong RingWaits { get; init; }
    /// <summary>Events of threads that found no free ring and trapped on a marker instead.</summary>
    public ulong RingMisses { get; init; }
    /// <summary>Events of signal handlers that interrupted a shared-ring write: written into the ring
    /// after it (Stashed), or trapped on a marker (Trapped).</summary>
    public (ulong Stashed, ulong Trapped) HandlerEvents { get; init; }
    /// <summary>Events whose stack the process unwound itself, and those whose stack it copied for memprof to unwind instead.</summary>
    public (ulong Unwound, ulong Copied) InProcessStacks { get; init; }
}

/// <summary>One `memprof record`: launch or attach, record until the target exits, the duration
/// ends or the user cancels, then detach every probe. The shell around <see cref="SessionCore"/>:
/// it owns the loop, the clock, the launcher and the recording file, and carries out the core's
/// commands on the kernel tracer and the processes.</summary>
public static class LinuxRecordSession
{
    /// <param name="started">Called once probes are attached, with the probing mode.</param>
    /// <param name="host">The machine acted on (<see cref="SessionHost.Live"/> unless testing).</param>
    public static RecordSessionResult Run(RecordSessionOptions options, Func<TracerSettings, IKernelTracer> tracerFactory,
        Action<RecorderStatus>? status, CancellationToken cancel, Action<string>? started = null, SessionHost? host = null)
    {
        host ??= SessionHost.Live;
        var (processes, files, signals, targets) = (host.Processes, host.Files, host.Signals, host.Targets);
        var monotonicNanos = host.MonotonicNanos;
        ILaunchedCommand? launcher = null;
        bool perfMapTurnedOn = false;
        IInjectedProcess? injected = null;
        IDisposable? priority = null;
        Ring.SharedRing? rings = null;
        int pid;
        string? preloadNote = null;
        string? inheritedPreload = null;
        bool jemallocExplained = false;
        // Launched, loading the BPF object (the kernel's BTF parsed, the programs verified: ~150 ms)
        // overlaps the launch's preparation; joined where the tracer is first needed.
        var loading = options.Pid is null
            ? Bpf.EarlyTracer.Start(tracerFactory, options.TracerSettings(UsesDwarf(options.Unwind)) with { SharedRings = options.SharedRings })
            : null;
        try
        {
            if (options.Pid is { } attachPid)
            {
                if (options.AllocatorMode == AllocatorMode.Preload)
                    throw new ProfilerException(ExitCode.UsageError,
                        "--mode preload samples inside a program memprof launches; to attach, use --mode auto or probe");
                if (targets.WhyNotAttachable(attachPid) is { } why)
                    throw new ProfilerException(ExitCode.TargetNotFound, why);
                pid = attachPid;
                // Ahead of the target's threads: otherwise a target whose threads all run starves the
                // attach (its threads stay stopped longer) and the reading of the ring buffer.
                priority = targets.RaiseOwnPriority();
                AttachChoice attach;
                try
                {
                    attach = options.AllocatorMode == AllocatorMode.Probe ? new AttachChoice(false, null)
                        : AttachChoice.Decide(options.AllocatorMode, targets.AttachFacts(attachPid));
                }
                catch (ProfilerException)
                {
                    priority.Dispose();
                    throw;
                }
                if (attach.Inject)
                {
                    // Samples go through shared rings rather than a trap each, as at launch.
                    if (options.SharedRings)
                        rings = new Ring.SharedRing(Ring.RingSizing.For(Math.Max(1, options.SampleRateBytes), options.BufferBytes), UsesDwarf(options.Unwind) ? options.StackCopyBytes : 0, monotonicNanos,
                            unwindInProcess: options.Unwind != UnwindMode.DwarfCopy);
                    var (process, failure) = targets.Inject(attachPid, Math.Max(1, options.SampleRateBytes), rings?.Path);
                    string ringsNote = rings is null ? ""
                        : process is { UsesRings: true } ? $"; events through shared rings ({rings.Sizing.RingCount} × {rings.Sizing.RingBytes / 1024} KiB; markers probed for threads without a ring)"
                        : process is not null ? $"; shared rings not used ({process.RingsRefusal ?? "not taken"}): sampled events trap on the markers" : "";
                    if (process is not { UsesRings: true })
                    {
                        rings?.Dispose();
                        rings = null;
                    }
                    if (process is null && options.AllocatorMode == AllocatorMode.Inject) priority.Dispose();
                    if (process is null) attach = AttachChoice.FallBack(options.AllocatorMode, failure ?? "unknown failure");
                    else
                    {
                        injected = process;
                        preloadNote = $"in-process sampling injected into the running process ({process.Summary}; counts exact from the " +
                                      "attach for calls through the redirected slots and definitions; libc-internal calls not seen)" + ringsNote;
                    }
                    if (rings is not null && !options.FollowChildren) rings.OnlyPid = (uint)attachPid;
                }
                if (attach.Note is not null) preloadNote = attach.Note;
                // A preload library already in the process samples at its own rate: that rate is the
                // recording's (weights computed at --rate would be wrong by their ratio).
                if (injected is null && Preload.ResidentPreload.SamplingRate(processes, files, attachPid) is { } resident)
                {
                    preloadNote = $"{Preload.ResidentPreload.Note}: it samples every {resident:N0} B whatever --rate says, " +
                                  "and its counters run from the process's start";
                    options = options with { SampleRateBytes = resident };
                }
            }
            else
            {
                if (options.AllocatorMode == AllocatorMode.Inject)
                    throw new ProfilerException(ExitCode.UsageError,
                        "--mode inject puts the sampler into a running process (--pid); a launched command samples in-process with --mode auto or preload");
                // Samples go through shared rings rather than a trap each.
                if (options.SharedRings)
                    rings = new Ring.SharedRing(Ring.RingSizing.For(Math.Max(1, options.SampleRateBytes), options.BufferBytes),
                        UsesDwarf(options.Unwind) ? options.StackCopyBytes : 0, monotonicNanos, unwindInProcess: options.Unwind != UnwindMode.DwarfCopy);
                var choice = ChooseLaunch(options, targets, rings);
                if (rings is not null && choice.Environment?.ContainsKey(Ring.RingLayout.EnvironmentVariable) != true)
                {
                    rings.Dispose();
                    rings = null;
                }
                preloadNote = choice.Note;
                jemallocExplained = choice.JemallocExplained;
                if (choice.Environment?.ContainsKey("LD_PRELOAD") == true && Preload.PreloadLibrary.Locate() is { } library) inheritedPreload = library;
                // A .NET command names its JIT-compiled code in a perf map from its start.
                perfMapTurnedOn = string.IsNullOrEmpty(Environment.GetEnvironmentVariable(DotNet.DotNetProcesses.PerfMapVariable));
                var environment = DotNet.DotNetProcesses.LaunchEnvironment(choice.Environment, Environment.GetEnvironmentVariable);
                try { launcher = targets.StartStopped(options.Command, environment, options.TargetOutputPath); }
                catch
                {
                    rings?.Dispose();
                    throw;
                }
                pid = launcher.Pid;
                if (rings is not null && !options.FollowChildren) rings.OnlyPid = (uint)pid;
            }

        }
        catch
        {
            loading?.Discard();
            throw;
        }

        IKernelTracer? tracer = null;
        Bpf.IProbeGuard? guard = null;
        RecordingWriter? writer = null;
        SessionCore? recorder = null;
        bool resumed = false;
        try
        {
            bool dwarf = UsesDwarf(options.Unwind);
            // The kernel's buffer is small beside the rings only when they carry the command's
            // calls: an executable with an allocator of its own (a Rust program's static jemalloc)
            // is probed, every call a trap with its stack copy, and 16 MiB lost events of one.
            bool probedExecutable = launcher is not null && files.Canonical(launcher.Executable) is var executablePath &&
                                    files.Plan(executablePath).ProbedBesideLaunchLibrary(executablePath);
            var settings = options.TracerSettings(dwarf) with { SharedRings = rings is not null && !probedExecutable };
            tracer = loading is not null ? loading.Join(settings) : tracerFactory(settings);
            var header = new Header
            {
                StartUnixNanos = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000,
                TargetPid = (uint)pid,
                Collector = "linux-ebpf",
                Mode = tracer.Mode,
                SamplingRateBytes = Math.Max(1, options.SampleRateBytes),
                FollowsChildren = options.FollowChildren,
                Stacks = dwarf ? "dwarf" : "frame-pointer",
                Hostname = Environment.MachineName,
                Kernel = Environment.OSVersion.VersionString,
                MemprofVersion = options.MemprofVersion,
                Launched = launcher is not null,
            };
            header.Command.AddRange(launcher is not null ? options.Command : [targets.CommandLine(pid) ?? $"pid {pid}"]);
            if (preloadNote is not null) header.Mode = preloadNote + "; " + header.Mode;
            // The executable's own jemalloc decides the mode the header names; other files and
            // children are decided as they are probed (said on screen at the end of recording).
            var jemalloc = new Jemalloc.JemallocPolicy(options.AllocatorMode == AllocatorMode.Inject ? AllocatorMode.Auto : options.AllocatorMode, options.SampleRateBytes);
            string executable = launcher?.Executable ?? targets.ExecutablePath(pid);
            if (files.Plan(executable).Jemalloc?.Symbols is { } prof)
                jemalloc.Decide(pid, executable, () => Jemalloc.JemallocProfiling.Read(processes, files, pid, executable, prof, fresh: launcher is not null));
            else if (options.AllocatorMode == AllocatorMode.JemallocProf && !jemallocExplained)
                header.Mode += $"; {Path.GetFileName(executable)} has no jemalloc with profiling compiled in: probing every call";
            foreach (var note in jemalloc.Notes) header.Mode += "; " + note;
            if (launcher is not null && targets.AllocatorNotFoundNote(executable) is { } notFound) header.Mode += "; " + notFound;
            writer = RecordingWriter.Create(options.OutputPath, header);
            long origin = monotonicNanos();
            var dotnet = new DotNet.DotNetProcesses(new DotNet.DiagnosticsPerfMapControl(), launched: launcher is not null,
                perfMapTurnedOn ? exited => !targets.IsAlive(exited) : null,
                gcHeap: new DotNet.EventPipeGcHeapSource(), clock: () => monotonicNanos() - origin,
                // An attached runtime without a perf map is still alive at the end: ClrMD can name its code.
                clrMd: launcher is null ? new DotNet.ClrMdFallback(new DotNet.ClrMdCodeNamer(), ProcMaps.Read, targets.IsAlive) : null,
                // A launched runtime's precompiled code is named by its jitdump: it is gone by the end.
                openDump: launcher is not null && perfMapTurnedOn ? pid => new DotNet.JitDumpFile(DotNet.JitDumpFile.For(pid)) : null);
            // A memprof killed while it attaches or releases a probe would leave its breakpoints in a
            // process it did not start, which lives on; a command it started is guarded by nobody.
            guard = launcher is null ? host.GuardProbes() : null;
            var ports = new SessionPorts(new DotNet.DotNetWatchingSink(new WriterRecordSink(writer), dotnet), new KernelCommandSink(tracer, signals, processes, guard), processes, files,
                rings is not null ? new Ring.RingCounters(tracer, rings) : tracer, new Unwinding.DwarfStackUnwinder(), jemalloc);
            recorder = new SessionCore(ports, header.SamplingRateBytes, monotonicNanos) { InheritedPreload = inheritedPreload };
            var pump = new Ring.RecordPump(tracer, rings, recorder.OnRecord, writer.Tick);
            var notes = new List<string>();
            recorder.Note += notes.Add;
            int? rootExit = null;
            recorder.ProcessExited += (exited, code) => { if (exited == pid) rootExit = code; };
            recorder.Start(pid, origin, launched: launcher is not null, launcher is not null ? [launcher.Executable] : null);
            // Counting starts with the markers probed, so every counted allocation has its event.
            if (injected?.StartCounting() is { } notCounting) throw new ProfilerException(ExitCode.CollectorFailed, $"attach by injection: {notCounting}");
            started?.Invoke(header.Mode + (!dwarf ? ", frame-pointer stacks"
                : rings is not null && options.Unwind != UnwindMode.DwarfCopy ? $", DWARF stacks (unwound in process; copies of up to {options.StackCopyBytes / 1024} KiB where that stops short)"
                : $", DWARF stacks (copies of up to {options.StackCopyBytes / 1024} KiB)"));
            // What the rings hold now is the launcher shell's own start (it is stopped before it
            // execs the command): not the command's. Attached, it is the target's, sampled since
            // StartCounting: kept.
            if (launcher is not null) rings?.Discard();
            if (launcher is not null) signals.Resume(launcher.Pid);
            resumed = true;
            var lastTotals = TimeSpan.Zero;
            var lastJitSymbols = TimeSpan.Zero;

            var sw = Stopwatch.StartNew();
            var lastStatus = TimeSpan.Zero;
            long lastEvents = 0;
            bool busy = false;
            // A failed write (full disk) ends the recording, not the target: it runs on unrecorded.
            while (!cancel.IsCancellationRequested && writer.Failure is null)
            {
                // A launched program may load its libraries and exit within milliseconds: for its
                // first seconds, poll briefly and keep its module maps current (at most every 10 ms)
                // so they are read while it still lives.
                bool early = launcher is not null && sw.Elapsed < EarlyPhase;
                // Writers may be waiting for room in a ring: while they produce much, drain without
                // pause; a pass that found little waits a millisecond (a ring holds several), or
                // memprof would spin on a few events a pass, taking the CPU the program needs.
                busy = pump.Pass(busy ? 0 : early ? 2 : 50) >= BusyPassRecords && rings is not null;
                if (early) recorder.RefreshMaps(force: false);
                if (sw.Elapsed - lastTotals >= TotalsInterval)
                {
                    recorder.WriteTotals();
                    lastTotals = sw.Elapsed;
                }
                if (sw.Elapsed - lastJitSymbols >= JitSymbolsInterval)
                {
                    dotnet.Poll(writer.WriteJitSymbols, monotonicNanos() - origin);
                    dotnet.PollManagedHeap(writer.WriteManagedHeap);
                    lastJitSymbols = sw.Elapsed;
                }
                if (launcher is not null ? launcher.HasExited : !targets.IsAlive(pid)) break;
                if (options.Duration is { } d && sw.Elapsed >= d) break;
                if (status is not null && sw.Elapsed - lastStatus >= TimeSpan.FromSeconds(1))
                {
                    var counters = tracer.ReadCounters();
                    status(new RecorderStatus(sw.Elapsed, recorder.Events, (recorder.Events - lastEvents) / (sw.Elapsed - lastStatus).TotalSeconds,
                        counters.LostEvents, recorder.LiveProcessCount));
                    lastStatus = sw.Elapsed;
                    lastEvents = recorder.Events;
                    writer.WriteStats(recorder.Stats());
                }
            }

            // The program's allocator calls go back where they went before, while the markers are
            // still probed (a sampled block freed meanwhile is recorded); then no probe stays behind.
            var restoring = Stopwatch.StartNew();
            // Said when memprof ends, with its exit code: the recording is finished first.
            string? unrestored = injected?.Detach() is { } left ? DetachFailure(pid, left) : null;
            TimeSpan? slotsRestored = injected is null ? null : restoring.Elapsed;
            // Whatever the kernel already queued belongs to the recording; then no probe stays behind.
            // With every traced process gone nothing more can come: the probes' releases (a grace
            // period each) go on while the recording is finished, and past it: disposing the
            // tracer does not wait for them, memprof's exit does (PendingReleases).
            tracer.DetachAll(wait: recorder.UnexitedPids.Any(targets.IsAlive));
            // Bounded: a child that outlives the command may go on writing into the rings.
            var drainEnd = sw.Elapsed + FinalDrainLimit;
            while (pump.Pass(0) > 0 && sw.Elapsed < drainEnd) { }
            // From here memprof only waits for the command (which may run on past --duration or a
            // failed write): its threads must drop their events, not wait for room in the rings.
            rings?.StopReading();
            // The process keeps no mapping of rings nobody reads (a later attach would unmap it, but
            // there may be none).
            if (injected?.ReleaseRings() is { } unreleased) Console.Error.WriteLine($"memprof: the shared rings stay mapped in process {pid} until the next attach: {unreleased}");
            recorder.WriteTotals();
            if (launcher is not null && !launcher.HasExited) signals.Resume(pid);
            var stats = recorder.Stats();
            writer.WriteStats(stats);
            if (recorder.UnknownRingStacks > 0)
                notes.Add($"{recorder.UnknownRingStacks:N0} events named a stack their ring never defined: recorded without a stack");
            int? exitCode = null;
            if (launcher is not null)
            {
                if (cancel.IsCancellationRequested && writer.Failure is null) StopCommand(launcher, host);
                exitCode = launcher.WaitForExit();
                if (rootExit is null)
                    writer.WriteProcessExit(new ProcessExit { Pid = (uint)pid, TimeNanos = monotonicNanos() - origin, ExitCode = exitCode.Value });
            }
            dotnet.Finish(writer.WriteJitSymbols, monotonicNanos() - origin);
            dotnet.FinishManagedHeap(writer.WriteManagedHeap);
            foreach (var note in dotnet.Notes) Console.Error.WriteLine($"memprof: {note}");
            try { writer.Complete(new Footer { EndTimeNanos = monotonicNanos() - origin, Events = stats.Events, LostEvents = stats.LostEvents }); }
            catch (ProfilerException failed) { throw new ProfilerException(failed.ExitCode, failed.Message, failed.InnerException) { CommandExitCode = exitCode }; }
            return new RecordSessionResult(pid, exitCode, recorder.Events, stats.LostEvents, recorder.Sites.Count, tracer.Mode, recorder.ProcessCount)
            {
                Notes = notes,
                SlotsRestored = slotsRestored,
                DetachFailure = unrestored,
                RingWaits = rings?.Waits ?? 0, RingMisses = rings?.NoRing ?? 0,
                HandlerEvents = rings is null ? default : (rings.Stashed, rings.Interrupted),
                InProcessStacks = rings is null ? default : (rings.Unwound, rings.Copied),
            };
        }
        catch (ProfilerException e) when (e.CommandExitCode is not null) { throw; }
        catch (Exception e)
        {
            // The failure reported comes first; a target left redirected is said beside it.
            try { if (injected?.Detach() is { } left) Console.Error.WriteLine($"memprof: {DetachFailure(pid, left)}"); }
            catch (Exception) { /* best effort */ }
            int? exitCode = Abandon(launcher, tracer, rings, recorder, writer, resumed, signals);
            try { injected?.ReleaseRings(); } catch (Exception) { /* best effort: a later attach unmaps them */ }
            if (!resumed && writer is not null)
            {
                // Nothing was recorded: no empty recording is left behind.
                writer.Dispose();
                writer = null;
                try { File.Delete(options.OutputPath); } catch (Exception ex) when (Core.Files.OutputFile.IsWriteFailure(ex)) { }
            }
            // Gone (or a zombie) between the first look and the attach: not a collector failure.
            if (e is ProfilerException { ExitCode: ExitCode.CollectorFailed } && options.Pid is { } gonePid &&
                targets.WhyNotAttachable(gonePid) is { } why)
                throw new ProfilerException(ExitCode.TargetNotFound, why);
            if (e is ProfilerException known)
                throw new ProfilerException(known.ExitCode, known.Message, known.InnerException) { CommandExitCode = exitCode };
            if (exitCode is null) throw;
            throw new ProfilerException(ExitCode.CollectorFailed, $"recording failed: {e.Message}", e) { CommandExitCode = exitCode };
        }
        finally
        {
            injected?.Dispose();
            writer?.Dispose();
            rings?.Dispose();
            tracer?.Dispose();
            // After the tracer: a session that leaves a live process has released every probe by now.
            guard?.Dispose();
            launcher?.Dispose();
            priority?.Dispose();
        }
    }

    /// <summary>What the user is told when an injected process keeps slots redirected: its calls go
    /// through a sampler nobody reads (it only forwards them), and the next attach takes them over.</summary>
    public static string DetachFailure(int pid, string what) =>
        $"detaching from process {pid} left its allocator calls going through memprof's sampler ({what}); " +
        $"it only forwards them now, and the next `memprof record --pid {pid}` takes them over and puts them back";

    /// <summary>After a failure: no probe stays behind, no traced process stays stopped (at a fork,
    /// exec or exit, waiting for us), and a launched command is never left behind: one that never
    /// started is killed, one that runs is let run to its end, and its exit code is returned.</summary>
    static int? Abandon(ILaunchedCommand? launcher, IKernelTracer? tracer, Ring.SharedRing? rings, SessionCore? recorder, RecordingWriter? writer, bool resumed,
        IProcessControl signals)
    {
        try { tracer?.DetachAll(); } catch (Exception) { /* best effort: disposing detaches too */ }
        try
        {
            // Queued forks and execs stopped their processes: handling them lets them go.
            if (recorder is not null && tracer is not null && writer is not null)
            {
                var pump = new Ring.RecordPump(tracer, rings, recorder.OnRecord, writer.Tick);
                while (pump.Pass(0) > 0) { }
            }
        }
        catch (Exception) { /* the failure being reported may be this very one */ }
        // Nobody drains the rings any more: the command's threads must drop, not wait for room.
        rings?.StopReading();
        // Still the stopped shell: the command has not run, and must not run unrecorded unasked —
        // killed before anything is resumed (a SIGCONT first would let it exec the command).
        bool unstarted = launcher is not null && !launcher.HasExited && !resumed;
        if (unstarted) signals.Kill(launcher!.Pid);
        recorder?.ResumeAll(except: unstarted ? launcher!.Pid : null);
        if (launcher is null || launcher.HasExited && !unstarted) return launcher?.WaitForExit();
        if (unstarted)
        {
            launcher.WaitForExit();
            return null;
        }
        signals.Resume(launcher.Pid);
        return launcher.WaitForExit();
    }

    /// <summary>Recording was stopped (Ctrl-C, SIGTERM, the terminal UI): a signal from the
    /// terminal or `timeout` reached the command too, so it is given a moment to end as it
    /// chooses before it is asked to terminate.</summary>
    static void StopCommand(ILaunchedCommand launcher, SessionHost host)
    {
        var grace = Stopwatch.StartNew();
        while (!launcher.HasExited && grace.Elapsed < host.StopGrace) System.Threading.Thread.Sleep(10);
        if (!launcher.HasExited) host.Signals.Terminate(launcher.Pid);
    }

    /// <summary>What a launched command runs with (<see cref="LaunchChoice"/>); nothing when its
    /// executable cannot be found, which launching it then reports.</summary>
    static LaunchChoice ChooseLaunch(RecordSessionOptions options, ITargetHost targets, Ring.SharedRing? rings)
    {
        string executable;
        try { executable = targets.ResolveExecutable(options.Command[0]); }
        catch (ProfilerException) { return new(null, null); }
        var described = rings is null ? ((string, string)?)null
            : (rings.Path, $"shared rings ({rings.Sizing.RingCount} × {rings.Sizing.RingBytes / 1024} KiB)");
        return LaunchChoice.Decide(options.AllocatorMode, options.SampleRateBytes, targets.LaunchFacts(executable), described);
    }

    /// <summary>Auto is DWARF for every program: even an executable built with frame pointers
    /// calls into libraries built without (Debian's glibc: fopen, getline, qsort, a thread's
    /// start), where a frame-pointer walk breaks off or runs astray, so only unwinding a copy of
    /// the stack reaches the outermost frame everywhere; where a module has no CFI the unwinder
    /// follows the frame pointer anyway. A sample costs a few microseconds more.</summary>
    static bool UsesDwarf(UnwindMode mode) => mode != UnwindMode.FramePointer;

    /// <summary>Records in a pass that say the rings fill faster than a millisecond's pause allows.</summary>
    const int BusyPassRecords = 512;
    static readonly TimeSpan EarlyPhase = TimeSpan.FromSeconds(2);
    static readonly TimeSpan FinalDrainLimit = TimeSpan.FromSeconds(10);
    static readonly TimeSpan TotalsInterval = TimeSpan.FromMilliseconds(100);
    static readonly TimeSpan JitSymbolsInterval = TimeSpan.FromSeconds(1);

}
