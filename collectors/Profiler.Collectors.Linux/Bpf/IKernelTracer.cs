namespace Profiler.Collectors.Linux.Bpf;

public readonly record struct UprobeTarget(ulong FileOffset, ulong Cookie, bool WithReturn);

public delegate void BpfEventSink(ReadOnlySpan<byte> record);

/// <summary>What the kernel side samples and captures.</summary>
/// <param name="SampleRateBytes">Mean bytes between samples; 1 records every allocation.</param>
/// <param name="StackCopyBytes">User stack copied per sample for DWARF unwinding; 0 = frame pointers only.</param>
/// <param name="FollowChildren">Trace forked children and stop processes at exec so new images get probes.</param>
public sealed record TracerSettings(ulong SampleRateBytes, int StackCopyBytes, bool FollowChildren)
{
    /// <summary>The BPF ring buffer's size (--buffer; rounded up to a power of two), null: memprof's default.</summary>
    public ulong? RingBufferBytes { get; init; }
    /// <summary>A launched command's or an injected process's events go through shared rings: the
    /// kernel's ring buffer carries little (exec, fork and exit, threads beyond the rings, events
    /// of nested signal handlers).</summary>
    public bool SharedRings { get; init; }
}

/// <summary>Kernel counters: drops and errors, summed over CPUs.</summary>
public readonly record struct TracerCounters(ulong LostEvents, ulong StackErrors, ulong SampledMapFull, ulong Samples);

/// <summary>The kernel side of a session (BPF in production); the session core only reads its
/// counters, the shell carries out its commands through the rest.</summary>
public interface IKernelTracer : Session.IKernelCounters, IDisposable
{
    /// <summary>How calls are probed, e.g. "uprobe-session" or "uprobe+uretprobe".</summary>
    string Mode { get; }
    int LinkCount { get; }
    /// <summary>Records this process: its exec, fork and exit are reported.</summary>
    void Track(int pid, bool launched);
    /// <summary>Puts the allocation probes (and the exit() hook, cookie function Exit) on these
    /// offsets of one file, for one process.</summary>
    void Attach(int pid, string path, IReadOnlyList<UprobeTarget> targets);
    /// <summary>Starts releasing one process's probes (it has exited).</summary>
    void Detach(int pid);
    int Drain(BpfEventSink sink, int timeoutMs);
    /// <summary>Releases every probe; returns once none is left attached, or, without
    /// <paramref name="wait"/>, at once (the releases go on in the background; disposing does not
    /// wait for them either).</summary>
    void DetachAll(bool wait = true);
}
