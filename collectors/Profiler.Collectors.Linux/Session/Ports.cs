using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Probes;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.Linux.Session;

/// <summary>What the session core may look at in the traced processes: snapshots it reads while
/// it decides, never changing them (procfs in the shell, canned snapshots in tests).</summary>
public interface IProcessView
{
    /// <summary>The process's mappings now; empty when it is gone.</summary>
    IReadOnlyList<MapEntry> Maps(int pid);
    /// <summary>Fills the buffer from the process's memory; false when gone or unmapped.</summary>
    bool TryRead(int pid, ulong address, Span<byte> buffer);
    /// <summary>A variable of the environment the process was started (or exec'd) with.</summary>
    string? EnvironmentVariable(int pid, string name);
    bool Exists(int pid);
}

/// <summary>What the core learns from the files a process maps (ELF reads in the shell).</summary>
public interface IBinaryCatalog
{
    /// <summary>The path with every symlink resolved, as /proc/PID/maps names files.</summary>
    string Canonical(string path);
    bool Exists(string path);
    /// <summary>Where to probe in the file (an empty plan for a file that is not ELF or is gone).</summary>
    ProbePlan Plan(string path);
    /// <summary>The GNU build id in hex, "" when it has none.</summary>
    string BuildId(string path);
    /// <summary>The page-aligned virtual address of the file's first load segment.</summary>
    ulong? FirstLoadAddress(string path);
}

/// <summary>The kernel side's counters, read (never changed) by the core.</summary>
public interface IKernelCounters
{
    TracerCounters ReadCounters();
    /// <summary>Exact totals of one process's calls so far, if it made any.</summary>
    BpfTotals? ReadTotals(int pid);
}

/// <summary>Where the core's recording records go (the recording writer in the shell).</summary>
public interface IRecordSink
{
    void Event(in RawEvent e);
    void Stack(Stack stack);
    void Module(Module module);
    void Thread(Core.Recording.Proto.Thread thread);
    void Exec(ProcessExec exec);
    void Fork(ProcessFork fork);
    void Exit(ProcessExit exit);
    void Counters(HeapCounters counters);
}

/// <summary>What the core asks to be done to the kernel and the traced processes, in order.</summary>
public interface ICommandSink
{
    void Execute(SessionCommand command);
}

public abstract record SessionCommand(int Pid);

/// <summary>Record this process: its exec, fork and exit are reported.</summary>
public sealed record TrackProcess(int Pid, bool Launched) : SessionCommand(Pid);

/// <summary>Put probes on these offsets of one file, for one process.</summary>
/// <param name="MayVanish">The process may be gone already (a child that died at once): a
/// failure is then nothing to report.</param>
public sealed record AttachProbes(int Pid, string Path, IReadOnlyList<UprobeTarget> Targets, bool MayVanish) : SessionCommand(Pid)
{
    public override string ToString() => $"AttachProbes {{ Pid = {Pid}, Path = {Path}, Targets = {Targets.Count}, MayVanish = {MayVanish} }}";
}

/// <summary>Let a process stopped by a hook (fork, exec, exit, the dynamic linker) run on.</summary>
public sealed record ResumeProcess(int Pid) : SessionCommand(Pid);
