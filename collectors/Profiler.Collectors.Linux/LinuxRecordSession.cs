using System.Diagnostics;
using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Procfs;
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

    public TracerSettings TracerSettings(bool dwarf) => new(SampleRateBytes, dwarf ? StackCopyBytes : 0, FollowChildren);
}

/// <summary>How sampled stacks are taken: the kernel's frame-pointer walk, a stack copy unwound
/// with DWARF CFI in user space, or whichever suits the target's executable.</summary>
public enum UnwindMode { Auto, FramePointer, Dwarf }

public sealed record RecordSessionResult(int TargetPid, int? CommandExitCode, long Events, ulong LostEvents, int Probes, string Mode, int Processes);

/// <summary>One `memprof record`: launch or attach, record until the target exits, the duration
/// ends or the user cancels, then detach every probe.</summary>
public static class LinuxRecordSession
{
    /// <param name="started">Called once probes are attached, with the probing mode.</param>
    public static RecordSessionResult Run(RecordSessionOptions options, Func<TracerSettings, IKernelTracer> tracerFactory,
        Action<RecorderStatus>? status, CancellationToken cancel, Action<string>? started = null)
    {
        TargetLauncher? launcher = null;
        int pid;
        string? preloadNote = null;
        if (options.Pid is { } attachPid)
        {
            if (options.AllocatorMode == AllocatorMode.Preload)
                throw new ProfilerException(ExitCode.UsageError,
                    "--mode preload samples inside a program memprof launches; to attach, use --mode auto or probe");
            if (ProcessState.Read(attachPid) is null)
                throw new ProfilerException(ExitCode.TargetNotFound, $"no process with pid {attachPid}");
            pid = attachPid;
        }
        else
        {
            var environment = JemallocEnvironment(options);
            if (environment is null) (environment, preloadNote) = PreloadEnvironment(options);
            launcher = TargetLauncher.StartStopped(options.Command, environment, options.TargetOutputPath);
            pid = launcher.Pid;
        }

        try
        {
            bool dwarf = UsesDwarf(options.Unwind);
            using var tracer = tracerFactory(options.TracerSettings(dwarf));
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
            header.Command.AddRange(launcher is not null ? options.Command : [ProcessState.Command(pid) ?? $"pid {pid}"]);
            if (preloadNote is not null) header.Mode = preloadNote + "; " + header.Mode;
            // The executable's own jemalloc decides the mode the header names; other files and
            // children are decided as they are probed (said on screen at the end of recording).
            var jemalloc = new Jemalloc.JemallocPolicy(options.AllocatorMode, options.SampleRateBytes);
            string executable = launcher?.Executable ?? ProcessState.ExecutablePath(pid);
            if (ProbePlannerJemalloc(executable) is { } prof)
                jemalloc.Decide(pid, executable, prof, fresh: launcher is not null);
            else if (options.AllocatorMode == AllocatorMode.JemallocProf)
                header.Mode += $"; {Path.GetFileName(executable)} has no jemalloc with profiling compiled in: probing every call";
            foreach (var note in jemalloc.Notes) header.Mode += "; " + note;
            using var writer = RecordingWriter.Create(options.OutputPath, header);
            long origin = MonotonicNanos();
            var recorder = new AllocationRecorder(tracer, writer, header.SamplingRateBytes, () => MonotonicNanos(),
                new Unwinding.DwarfStackUnwinder(), jemalloc);
            int? rootExit = null;
            recorder.ProcessExited += (exited, code) => { if (exited == pid) rootExit = code; };
            recorder.Start(pid, origin, launched: launcher is not null, launcher is not null ? [launcher.Executable] : null);
            started?.Invoke(header.Mode + (dwarf ? $", DWARF stacks (copies of up to {options.StackCopyBytes / 1024} KiB)" : ", frame-pointer stacks"));
            launcher?.Resume();
            var lastTotals = TimeSpan.Zero;

            var sw = Stopwatch.StartNew();
            var lastStatus = TimeSpan.Zero;
            long lastEvents = 0;
            while (!cancel.IsCancellationRequested)
            {
                // A launched program may load its libraries and exit within milliseconds: for its
                // first seconds, poll briefly and keep its module maps current (at most every 10 ms)
                // so they are read while it still lives.
                bool early = launcher is not null && sw.Elapsed < EarlyPhase;
                recorder.Poll(early ? 2 : 50);
                if (early) recorder.RefreshMaps(force: false);
                if (sw.Elapsed - lastTotals >= TotalsInterval)
                {
                    recorder.WriteTotals();
                    lastTotals = sw.Elapsed;
                }
                if (launcher is not null ? launcher.HasExited : !ProcessState.IsAlive(pid)) break;
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

            // Whatever the kernel already queued belongs to the recording; then no probe stays behind.
            tracer.DetachAll();
            while (recorder.Poll(0) > 0) { }
            recorder.WriteTotals();
            if (launcher is not null && !launcher.HasExited) Native.Kill(pid, Native.SIGCONT);
            var stats = recorder.Stats();
            writer.WriteStats(stats);
            int? exitCode = null;
            if (launcher is not null)
            {
                if (!launcher.HasExited && cancel.IsCancellationRequested)
                    Native.Kill(pid, Native.SIGTERM);
                exitCode = launcher.WaitForExit();
                if (rootExit is null)
                    writer.WriteProcessExit(new ProcessExit { Pid = (uint)pid, TimeNanos = MonotonicNanos() - origin, ExitCode = exitCode.Value });
            }
            writer.Complete(new Footer { EndTimeNanos = MonotonicNanos() - origin, Events = stats.Events, LostEvents = stats.LostEvents });
            return new RecordSessionResult(pid, exitCode, recorder.Events, stats.LostEvents, recorder.Sites.Count, tracer.Mode, recorder.ProcessCount);
        }
        catch
        {
            if (launcher is not null && !launcher.HasExited)
            {
                // Never leave a launched command stopped behind us.
                Native.Kill(pid, Native.SIGCONT);
            }
            throw;
        }
        finally
        {
            launcher?.Dispose();
        }
    }

    static Probes.JemallocProfSymbols? ProbePlannerJemalloc(string path) => Probes.ProbePlanner.PlanFile(path).Jemalloc?.Symbols;

    /// <summary>At launch, a command whose executable has jemalloc with profiling compiled in gets
    /// jemalloc's configuration variable (for its prefix) turning sampling on at the --rate.</summary>
    static Dictionary<string, string>? JemallocEnvironment(RecordSessionOptions options)
    {
        if (!Jemalloc.JemallocProfiling.TurnOnAtLaunch(options.AllocatorMode, options.SampleRateBytes)) return null;
        string executable;
        try { executable = TargetLauncher.ResolveExecutable(options.Command[0]); }
        catch (ProfilerException) { return null; }
        if (ProbePlannerJemalloc(executable) is not { } prof) return null;
        string conf = Jemalloc.JemallocProfiling.Conf(options.SampleRateBytes);
        string? existing = Environment.GetEnvironmentVariable(prof.ConfVariable);
        return new() { [prof.ConfVariable] = string.IsNullOrEmpty(existing) ? conf : conf + "," + existing };
    }

    /// <summary>Auto and preload: a launched, dynamically linked command samples in-process
    /// through the preload library. Returns its environment (null when it cannot be used) and what
    /// to say about it either way.</summary>
    static (Dictionary<string, string>? Environment, string? Note) PreloadEnvironment(RecordSessionOptions options)
    {
        if (options.AllocatorMode is not (AllocatorMode.Auto or AllocatorMode.Preload)) return (null, null);
        string? reason;
        string? library = Preload.PreloadLibrary.Locate();
        if (library is null) reason = $"{Preload.PreloadLibrary.FileName} is missing beside memprof (it is built with the C compiler)";
        else
        {
            try { reason = Preload.PreloadLibrary.Unsuitable(TargetLauncher.ResolveExecutable(options.Command[0]), Environment.GetEnvironmentVariable("LD_PRELOAD")); }
            catch (ProfilerException) { return (null, null); }
        }
        if (reason is not null)
            return (null, $"in-process sampling unavailable ({reason}): probing every allocator call");
        var environment = Preload.PreloadLibrary.Environment(library!, options.SampleRateBytes, Environment.GetEnvironmentVariable("LD_PRELOAD"));
        return (environment, "in-process sampling (preload library, markers probed)");
    }

    /// <summary>Auto is DWARF for every program: even an executable built with frame pointers
    /// calls into libraries built without (Debian's glibc: fopen, getline, qsort, a thread's
    /// start), where a frame-pointer walk breaks off or runs astray, so only unwinding a copy of
    /// the stack reaches the outermost frame everywhere; where a module has no CFI the unwinder
    /// follows the frame pointer anyway. A sample costs a few microseconds more.</summary>
    static bool UsesDwarf(UnwindMode mode) => mode != UnwindMode.FramePointer;

    static readonly TimeSpan EarlyPhase = TimeSpan.FromSeconds(2);
    static readonly TimeSpan TotalsInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>CLOCK_MONOTONIC in nanoseconds, the clock bpf_ktime_get_ns reads.</summary>
    static long MonotonicNanos() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));
}
