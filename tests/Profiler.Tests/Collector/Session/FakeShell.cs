using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Session;
using Profiler.Core;

namespace Profiler.Tests.Collector.Session;

/// <summary>A kernel tracer that hands out scripted records, one batch per drain, and says what
/// was done to it.</summary>
sealed class ScriptedTracer(List<string> log) : IKernelTracer
{
    public readonly Queue<byte[][]> Batches = new();
    /// <summary>What happens once every batch was drained (the command ends, the tracer breaks…).</summary>
    public Action? WhenDrained;
    public readonly HashSet<int> Tracked = [];
    public string Mode => "scripted";
    public int LinkCount => 0;
    public void Track(int pid, bool launched) => Tracked.Add(pid);
    public void Attach(int pid, string path, IReadOnlyList<UprobeTarget> targets) => log.Add($"attach {pid} {Path.GetFileName(path)}");
    public void Detach(int pid) { }
    public TracerCounters ReadCounters() => default;
    public BpfTotals? ReadTotals(int pid) => null;
    public void DetachAll(bool wait = true) => log.Add("detach all");
    public void Dispose() => log.Add("dispose");

    public int Drain(BpfEventSink sink, int timeoutMs)
    {
        if (!Batches.TryDequeue(out var batch))
        {
            WhenDrained?.Invoke();
            return 0;
        }
        foreach (var record in batch) sink(record);
        return batch.Length;
    }
}

/// <summary>A command that "runs" until it is told its exit, or until it is signalled.</summary>
sealed class FakeCommand(int pid, string executable, List<string> log) : ILaunchedCommand
{
    public int Pid => pid;
    public string Executable => executable;
    public int? ExitCode;
    public bool HasExited => ExitCode is not null;
    /// <summary>A command let go runs to its end: 0 unless it was told otherwise.</summary>
    public int WaitForExit()
    {
        log.Add("wait");
        return ExitCode ??= 0;
    }
    public void Dispose() { }
}

/// <summary>The machine around the shell: a world of processes and files, signals that a fake
/// command obeys, and launching that gives that command.</summary>
sealed class FakeHost : ITargetHost, IProcessControl
{
    public readonly List<string> Log = [];
    public readonly FakeWorld World = new();
    public readonly FakeCommand Command;
    public readonly ScriptedTracer Tracer;
    public string? Unattachable;
    public bool TerminateEnds = true;

    public FakeHost(int pid)
    {
        Command = new FakeCommand(pid, FakeWorld.App, Log);
        Tracer = new ScriptedTracer(Log);
    }

    public SessionHost Session => new(World, World, this, this, () => 1_000_000, TimeSpan.Zero);

    public ILaunchedCommand StartStopped(IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment, string? outputPath)
    {
        Log.Add("launch " + string.Join(' ', command));
        return Command;
    }

    public string ResolveExecutable(string name) => name;
    public string? WhyNotAttachable(int pid) => Unattachable;
    public bool IsAlive(int pid) => World.ProcessMaps.ContainsKey(pid);
    public string? CommandLine(int pid) => "app --serve";
    public string ExecutablePath(int pid) => FakeWorld.App;
    public LaunchFacts LaunchFacts(string executable) => new(null, null, () => null, _ => null);
    public string? AllocatorNotFoundNote(string executable) => null;
    /// <summary>What the attached process looks like; by default injection is possible.</summary>
    public AttachFacts Facts = new("/lib/libmemprof_inject.so", false, false, false);
    /// <summary>Why injection fails (null: it succeeds).</summary>
    public string? InjectFailure { get; set; }
    public AttachFacts AttachFacts(int pid) => Facts;
    public IDisposable RaiseOwnPriority()
    {
        Log.Add("priority");
        return new Restore(() => Log.Add("priority back"));
    }

    sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }

    /// <summary>Why the injected sampler does not take the rings it is given (null: it takes them).</summary>
    public string? InjectRingsRefusal { get; set; }

    /// <summary>What the injected process's detach cannot put back (null: everything).</summary>
    public string? DetachFailure { get; set; }

    /// <summary>The rings path the last injection was given.</summary>
    public string? InjectedRingPath { get; private set; }

    public (IInjectedProcess? Process, string? Failure) Inject(int pid, ulong rateBytes, string? ringPath)
    {
        Log.Add($"inject {pid} rate {rateBytes}");
        InjectedRingPath = ringPath;
        return InjectFailure is null
            ? (new FakeInjected(pid, Log, ringPath is not null && InjectRingsRefusal is null, ringPath is null ? null : InjectRingsRefusal, DetachFailure), null)
            : (null, InjectFailure);
    }

    public void Resume(int pid) => Log.Add($"resume {pid}");
    public void Terminate(int pid)
    {
        Log.Add($"terminate {pid}");
        if (TerminateEnds && pid == Command.Pid) Command.ExitCode = 143;
    }
    public void Kill(int pid)
    {
        Log.Add($"kill {pid}");
        if (pid == Command.Pid) Command.ExitCode = 137;
    }
}

sealed class FakeInjected(int pid, List<string> log, bool usesRings = false, string? ringsRefusal = null, string? detachFailure = null) : IInjectedProcess
{
    bool _detached;
    public string Summary => "3 allocator slots redirected through 1 table (libc.so.6)";
    public string? StartCounting()
    {
        log.Add($"count {pid}");
        return null;
    }
    public bool UsesRings => usesRings;
    public string? RingsRefusal => ringsRefusal;
    public string? ReleaseRings()
    {
        if (usesRings) log.Add($"release rings {pid}");
        return null;
    }
    public string? Detach()
    {
        if (!_detached) log.Add($"restore slots {pid}");
        _detached = true;
        return detachFailure;
    }
    public void Dispose() => Detach();
}
