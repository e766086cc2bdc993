using System.Diagnostics;
using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Session;

/// <summary>A command memprof started, stopped before its first instruction until resumed.</summary>
public interface ILaunchedCommand : IDisposable
{
    int Pid { get; }
    /// <summary>The executable the command names, resolved as exec would.</summary>
    string Executable { get; }
    bool HasExited { get; }
    int WaitForExit();
}

/// <summary>Starting commands and looking at processes to attach to.</summary>
public interface ITargetHost
{
    ILaunchedCommand StartStopped(IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment, string? outputPath);
    /// <summary>The file a command names; a ProfilerException says why it cannot run.</summary>
    string ResolveExecutable(string name);
    /// <summary>Why pid cannot be attached to (gone, a zombie, a kernel thread), or null.</summary>
    string? WhyNotAttachable(int pid);
    bool IsAlive(int pid);
    string? CommandLine(int pid);
    string ExecutablePath(int pid);
    /// <summary>What is known of a command's executable before launching it.</summary>
    LaunchFacts LaunchFacts(string executable);
    /// <summary>The mode note for a static executable whose allocator could not be found, or null.</summary>
    string? AllocatorNotFoundNote(string executable);
    /// <summary>What is known of a running process before attaching to it.</summary>
    AttachFacts AttachFacts(int pid);
    /// <summary>Loads the sampler into the process and redirects its allocator calls through it;
    /// the failure says why not in one line (the process is then left as it was).</summary>
    /// <param name="ringPath">Shared rings for the sampler's events (null: its events trap on the markers).</param>
    (IInjectedProcess? Process, string? Failure) Inject(int pid, ulong rateBytes, string? ringPath);
    /// <summary>Puts memprof's threads ahead of a running target's (<see cref="OwnPriority"/>)
    /// until disposed (nothing happens without the privilege).</summary>
    IDisposable RaiseOwnPriority();
}

/// <summary>A process attached by injection: <see cref="Detach"/> puts its allocator slots back.</summary>
public interface IInjectedProcess : IDisposable
{
    /// <summary>What was redirected, in one line.</summary>
    string Summary { get; }
    /// <summary>Restarts the counters once the markers are probed; why not, or null.</summary>
    string? StartCounting();
    /// <summary>Restores the slots (allocations, a grace for sampled frees, then frees); what could not be, or null.</summary>
    string? Detach();
    /// <summary>The sampler writes its events into the shared rings it was given.</summary>
    bool UsesRings { get; }
    /// <summary>Why it was given rings but does not write into them (null: it does, or none were given).</summary>
    string? RingsRefusal { get; }
    /// <summary>After the last drain: the sampler stops using the rings and unmaps them; why not, or null.</summary>
    string? ReleaseRings();
}

/// <summary>Everything the recording shell acts on, so that its loop and its cleanup can run
/// against fakes: processes and files (read), signals, launching, the monotonic clock.</summary>
/// <param name="StopGrace">How long a command stopped by Ctrl-C may take to end by itself before
/// it is asked to terminate.</param>
public sealed record SessionHost(
    IProcessView Processes,
    IBinaryCatalog Files,
    IProcessControl Signals,
    ITargetHost Targets,
    Func<long> MonotonicNanos,
    TimeSpan StopGrace)
{
    public static SessionHost Live { get; } = new(new LiveProcessView(), new ElfBinaryCatalog(), new SignalProcessControl(),
        new LiveTargetHost(), LiveMonotonicNanos, TimeSpan.FromSeconds(1)) { GuardProbes = Bpf.ProbeGuard.Start };

    /// <summary>Starts the guard of the probes attached to a process memprof did not start (null: none).</summary>
    public Func<Bpf.IProbeGuard?> GuardProbes { get; init; } = () => null;

    /// <summary>CLOCK_MONOTONIC in nanoseconds, the clock bpf_ktime_get_ns reads.</summary>
    static long LiveMonotonicNanos() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));
}

/// <summary>This machine's processes and files.</summary>
public sealed class LiveTargetHost : ITargetHost
{
    public ILaunchedCommand StartStopped(IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment, string? outputPath) =>
        TargetLauncher.StartStopped(command, environment, outputPath);

    public string ResolveExecutable(string name) => TargetLauncher.ResolveExecutable(name);
    public string? WhyNotAttachable(int pid) => ProcessState.WhyNotAttachable(pid);
    public bool IsAlive(int pid) => ProcessState.IsAlive(pid);
    public string? CommandLine(int pid) => ProcessState.Command(pid);
    public string ExecutablePath(int pid) => ProcessState.ExecutablePath(pid);

    public LaunchFacts LaunchFacts(string executable) =>
        new(Probes.ProbePlanner.PlanFile(executable).Jemalloc?.Symbols, Preload.PreloadLibrary.Locate(),
            () => LaunchImage.PreloadFit(executable, image => Preload.PreloadLibrary.Unsuitable(image, Environment.GetEnvironmentVariable("LD_PRELOAD"))),
            Environment.GetEnvironmentVariable,
            () => Preload.PreloadLibrary.LinkedLibraries(LaunchImage.Resolve(executable))
                .FirstOrDefault(l => Probes.ProbePlanner.PlanFile(l).Jemalloc is null && Jemalloc.JemallocProfiling.ProfilingCompiledIn(l)) is { } lib
                ? Path.GetFileName(lib) : null,
            () => Preload.PreloadLibrary.SampledThrough(LaunchImage.Resolve(executable), Environment.GetEnvironmentVariable("LD_PRELOAD")) is { } through
                ? Path.GetFileName(through) : null);

    public string? AllocatorNotFoundNote(string executable) => Probes.StaticAllocator.NotFoundNote(executable);

    public AttachFacts AttachFacts(int pid)
    {
        string executable = ProcessState.ExecutablePath(pid);
        string file = File.Exists($"/proc/{pid}/exe") ? $"/proc/{pid}/exe" : executable;
        bool isStatic = false;
        if (Symbols.Elf.ElfFile.TryOpen(file, out var elf, out _))
            using (elf) isStatic = elf.FindSection(".interp") is null;
        var resident = Preload.ResidentPreload.Find(SessionHost.Live.Processes, SessionHost.Live.Files, pid);
        var plan = Probes.ProbePlanner.PlanFile(executable);
        return new AttachFacts(Preload.InjectLibrary.Locate(), isStatic, plan.Jemalloc?.Symbols is not null,
            resident is { Header.Flags: var flags } && !flags.HasFlag(Preload.PreloadFlags.Injected),
            plan.Sites.FirstOrDefault()?.Symbol);
    }

    public (IInjectedProcess? Process, string? Failure) Inject(int pid, ulong rateBytes, string? ringPath)
    {
        if (Preload.InjectLibrary.Locate() is not { } library) return (null, $"{Preload.InjectLibrary.FileName} is missing beside memprof");
        return Linux.Inject.InjectAttach.Attach(pid, library, rateBytes, ringPath);
    }

    public IDisposable RaiseOwnPriority() => OwnPriority.Raise();
}
