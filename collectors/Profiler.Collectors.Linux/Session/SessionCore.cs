using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Probes;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Profiler.Core.Sampling;

namespace Profiler.Collectors.Linux.Session;

/// <summary>
/// The recording session's decisions, free of effects: takes the kernel's records one by one and
/// snapshots of the processes (through <see cref="SessionPorts"/>), and emits recording records
/// plus commands for the shell to carry out — track this process, probe these offsets of this
/// file, resume this pid. It joins each sampled allocation with the stack its entry captured,
/// follows fork, exec and exit, decides per file between the preload library's markers, the
/// allocator's entry points and jemalloc's own sampling, and keeps module maps, thread names and
/// exact totals current.
/// </summary>
public sealed class SessionCore(SessionPorts ports, ulong sampleRateBytes, Func<long> clockNanos)
{
    readonly Jemalloc.SampledObjects _jemallocLive = new();
    const int MaxUnwoundFrames = 256;
    readonly ulong[] _unwound = new ulong[MaxUnwoundFrames];
    readonly StackInterner _stacks = new();
    readonly Dictionary<uint, byte[]> _threadNames = [];
    uint _lastThread;
    byte[]? _lastThreadName;
    readonly Dictionary<int, ProcessRecord> _processes = [];
    readonly Dictionary<uint, (ulong Sequence, ulong StackId)> _pendingStacks = [];
    readonly ulong[] _stackBuffer = new ulong[BpfEventHeader.MaxFrames + 1];
    /// <summary>The stacks the shared rings' writers named (their name: the recording's stack id).</summary>
    readonly Ring.RingStackNames _ringStacks = new();
    long _origin;

    IRecordSink Records => ports.Records;

    public IReadOnlyList<ProbeSite> Sites => _processes.Values.SelectMany(p => p.Sites).ToList();
    /// <summary>Allocation and free events written so far.</summary>
    public long Events { get; private set; }

    /// <summary>Ring events that named a stack never defined in their ring (recorded without a stack).</summary>
    public long UnknownRingStacks { get; private set; }
    public int ProcessCount => _processes.Count;
    public int LiveProcessCount => UnexitedPids.Count();

    /// <summary>The processes whose exit has not been seen yet.</summary>
    public IEnumerable<int> UnexitedPids => _processes.Where(p => !p.Value.Exited).Select(p => p.Key);

    /// <summary>Reports a traced process's end: pid and exit code (128 + signal when killed).</summary>
    public event Action<int, int>? ProcessExited;

    /// <summary>Something the user should know once, said when first met (a program run by the
    /// command that cannot take the inherited preload library and is probed instead).</summary>
    public event Action<string>? Note;

    /// <summary>The preload library the launched command inherits through its environment (null:
    /// none): a program it execs that does not take it is said once, by name and reason.</summary>
    public string? InheritedPreload { get; init; }

    readonly HashSet<string> _notes = [];
    int? _launchedRoot;
    /// <summary>The launcher shell (memprof's own, until it execs the command) and when it did:
    /// its allocator calls are nobody's program's and are not recorded. Its frees after the resume
    /// would be of blocks allocated before the probes came (unpaired). Until the exec is seen the
    /// process's events wait in <see cref="_heldForExec"/>, and those from after it are then
    /// recorded in order (the command cannot run before its exec is handled when children are
    /// followed; with --no-follow its events may come first).</summary>
    (int Pid, long? ExecNanos)? _launcher;
    readonly List<byte[]> _heldForExec = [];

    long SinceOrigin() => clockNanos() - _origin;

    /// <param name="originMonotonicNanos">The monotonic clock (bpf_ktime_get_ns) at the recording origin.</param>
    /// <param name="launched">The target is still the launcher shell: its maps are about to be
    /// replaced by exec, so they are not recorded yet.</param>
    /// <param name="extraFiles">Files to probe before they are mapped (a launched command's executable).</param>
    public void Start(int pid, long originMonotonicNanos, bool launched, IEnumerable<string>? extraFiles = null)
    {
        _origin = originMonotonicNanos;
        var process = Add(pid, launched, mayVanish: false);
        if (launched) (_launchedRoot, _launcher) = (pid, (pid, null));
        if (!launched) process.RefreshMaps(force: true);
        process.AttachMappedFiles(extraFiles, fresh: launched);
        if (process.Sites.Count == 0)
            throw new Core.ProfilerException(Core.ExitCode.CollectorFailed,
                $"pid {pid} maps no file that defines malloc/free; nothing to probe");
    }

    ProcessRecord Add(int pid, bool launched, bool mayVanish)
    {
        ports.Commands.Execute(new TrackProcess(pid, launched));
        var process = new ProcessRecord(pid, launched, mayVanish, ports, SinceOrigin);
        _processes[pid] = process;
        return process;
    }

    /// <summary>Lets every traced process run: after a failure none may stay stopped at a fork,
    /// exec or exit hook, waiting for a recorder that is gone.</summary>
    /// <param name="except">A process that must not run (the launcher of a command that never started).</param>
    public void ResumeAll(int? except = null)
    {
        foreach (var (pid, process) in _processes)
            if (!process.Exited && pid != except) Resume(pid);
    }

    void Resume(int pid) => ports.Commands.Execute(new ResumeProcess(pid));

    /// <summary>Keeps the maps of processes that may exit before their libraries are seen current.</summary>
    public void RefreshMaps(bool force)
    {
        foreach (var p in _processes.Values)
            if (!p.Exited) p.RefreshMaps(force);
    }

    public void WriteTotals()
    {
        long now = SinceOrigin();
        foreach (var p in _processes.Values) p.WriteTotals(now, t => t - _origin);
    }

    /// <summary>One record of the kernel's ring buffer (a struct memprof_event and what follows it).</summary>
    public void OnRecord(ReadOnlySpan<byte> record)
    {
        if (!EventDecoder.TryDecode(record, out var e, _stackBuffer, out int frames, out var stackCopy)) return;
        int pid = (int)e.Pid;
        switch ((BpfFunction)e.Function)
        {
            case BpfFunction.Exit:
                // The kernel stopped the process on its way out: read its maps (and the preload
                // library's counters, which go with the process), then let it go.
                Process(pid)?.RefreshMaps(force: true);
                Process(pid)?.WriteTotals(SinceOrigin(), t => t - _origin);
                Resume(pid);
                return;
            case BpfFunction.Libraries:
                // Stopped by the dynamic linker's hook: probe what the new libraries bring.
                Process(pid)?.RefreshMapsAndProbes();
                Resume(pid);
                return;
            case BpfFunction.Exec:
                OnExec(e, pid);
                return;
            case BpfFunction.Fork:
                OnFork(e, pid);
                return;
            case BpfFunction.ProcessExit:
                OnProcessExit(e, pid);
                return;
        }

        if (_launcher is { Pid: var launcher, ExecNanos: var exec } && launcher == pid)
        {
            if (exec is null) _heldForExec.Add(record.ToArray());
            if (exec is null || (long)e.TimeNanos < exec) return;
        }
        NoteThread(e.Pid, e.Tid, e.Comm);
        ulong stackId;
        // A ring's writer names each distinct stack once: later events carry only the name.
        if ((e.Flags & Ring.RingLayout.EventStackRef) != 0)
        {
            if (!_ringStacks.TryGet(e.Sequence, out stackId)) UnknownRingStacks++;
        }
        // A name defined again (its thread's table of names had dropped it): the name is enough.
        else if ((e.Flags & Ring.RingLayout.EventStackDefine) != 0 && _ringStacks.TryGet(e.Sequence, out stackId)) { }
        // The process unwound this stack with CFI itself (a shared ring's event). Interned even when
        // newly named: a thread's table of names drops a stack another one's name took, and the
        // stack comes back under a new name (cppcheck: 352 k distinct stacks defined 1.11 M times);
        // written once, the file and its readers see each stack once. (24 bytes a stack.)
        else if ((e.Flags & Ring.RingLayout.EventUnwound) != 0)
            stackId = frames == 0 ? 0 : InternStack(pid, _stackBuffer.AsSpan(0, frames), (e.Flags & BpfEventHeader.StackComplete) == 0);
        else if (stackCopy.Length > 0 && ports.Unwinder is not null && Unwind(e, pid, stackCopy, out int unwound, out bool truncated) >= Math.Min(frames, 2))
            stackId = InternStack(pid, _unwound.AsSpan(0, unwound), truncated);
        else
            stackId = frames > 0 ? InternStack(pid, _stackBuffer.AsSpan(0, frames), !FramePointerWalkComplete(e, pid, frames)) : 0;
        if ((e.Flags & Ring.RingLayout.EventStackDefine) != 0) _ringStacks.Set(e.Sequence, stackId);
        long time = (long)e.TimeNanos - _origin;
        var function = (AllocFunction)e.Function;
        switch ((BpfFunction)e.Function)
        {
            case BpfFunction.Stack:
                _pendingStacks[e.Tid] = (e.Sequence, stackId);
                return;
            case BpfFunction.Free:
                Write(new RawEvent(EventKind.Free, time, e.Pid, e.Tid, e.Address, 0, 0, stackId, function));
                return;
            case BpfFunction.ProfMalloc:
                OnJemallocSample(e, pid, time);
                return;
            case BpfFunction.ProfFree:
                // 5.3.0 does not pass the pointer: any live sample of the same backtrace and size stands for it.
                if (_jemallocLive.Remove(e.Pid, e.Tid, e.OldAddress, e.Size, e.Address) is { } freed)
                    Write(new RawEvent(EventKind.Free, time, e.Pid, e.Tid, freed, 0, 0, 0, AllocFunction.FreeFunction));
                return;
        }
        // A ring event's Sequence names its stack: no kernel stack waits for it.
        if ((e.Flags & (Ring.RingLayout.EventStackDefine | Ring.RingLayout.EventStackRef)) == 0 && PendingStack(e) is { } pending) stackId = pending;
        if ((e.Flags & BpfEventHeader.OldSampled) != 0 && e.OldAddress != 0)
            Write(new RawEvent(EventKind.Free, time, e.Pid, e.Tid, e.OldAddress, 0, 0, stackId, function));
        if ((e.Flags & BpfEventHeader.NewSampled) != 0 && e.Address != 0)
            Write(new RawEvent(EventKind.Alloc, time, e.Pid, e.Tid, e.Address, e.Size,
                PoissonSampling.Weight(e.Size, sampleRateBytes), stackId, function));
    }

    /// <summary>The stack the kernel sent ahead for this allocation. A stack is joined only with
    /// the allocation its entry numbered: one whose allocation record was lost is dropped at the
    /// thread's next numbered allocation rather than lent to it. Records without a number —
    /// the shared rings' events, which carry their own stacks and are read from another stream,
    /// so they may come between a kernel stack and its allocation — leave it waiting.</summary>
    ulong? PendingStack(in BpfEventHeader e)
    {
        if (e.Sequence == 0 || !_pendingStacks.Remove(e.Tid, out var pending)) return null;
        return pending.Sequence == e.Sequence ? pending.StackId : null;
    }

    void Write(in RawEvent e)
    {
        Records.Event(e);
        Events++;
    }

    /// <summary>An allocation jemalloc sampled (Caller = usize, OldAddress = its backtrace's tctx);
    /// its stack came just before from prof_lookup on the same thread.</summary>
    void OnJemallocSample(in BpfEventHeader e, int pid, long time)
    {
        ulong stackId = PendingStack(e) ?? 0;
        ulong rate = Process(pid)?.JemallocRateBytes ?? sampleRateBytes;
        // rallocx resized a sampled block in place: the old object goes first (prof_realloc frees it after).
        if (_jemallocLive.Add(e.Pid, e.Tid, e.OldAddress, e.Size, e.Address) is { } replaced)
            Write(new RawEvent(EventKind.Free, time, e.Pid, e.Tid, replaced, 0, 0, 0, AllocFunction.FreeFunction));
        Write(new RawEvent(EventKind.Alloc, time, e.Pid, e.Tid, e.Address, e.Size,
            Jemalloc.JemallocProfiling.SampleWeight(e.Size, e.Caller, rate), stackId, AllocFunction.Unspecified));
    }

    ulong InternStack(int pid, ReadOnlySpan<ulong> stack, bool truncated)
    {
        ulong id = _stacks.Intern(stack, out bool isNew);
        return isNew ? WriteStack(pid, id, stack, truncated) : id;
    }

    /// <summary>Writes a stack seen for the first time under <paramref name="id"/>.</summary>
    ulong WriteStack(int pid, ulong id, ReadOnlySpan<ulong> stack, bool truncated)
    {
        var s = new Stack { Id = id, Truncated = truncated };
        s.Addresses.Add(stack.ToArray());
        Records.Stack(s);
        if (Process(pid) is { } process)
            foreach (var address in stack)
                if (!process.IsKnown(address)) { process.RefreshMaps(force: false); break; }
        return id;
    }

    ProcessRecord? Process(int pid) => _processes.GetValueOrDefault(pid);

    /// <summary>The kernel-side walk ended on a zero frame pointer, through frames that keep one.</summary>
    bool FramePointerWalkComplete(in BpfEventHeader e, int pid, int frames) =>
        (e.Flags & BpfEventHeader.StackComplete) != 0 &&
        (ports.Unwinder is null || ports.Unwinder.IsFramePointerChain(pid, _stackBuffer.AsSpan(0, frames)));

    /// <summary>DWARF-unwinds a copied stack; a walk that leaves every known mapping may have met a
    /// library loaded since the maps were read (or JIT-compiled code in a region mapped since), so
    /// it is retried once with fresh maps.</summary>
    int Unwind(in BpfEventHeader e, int pid, ReadOnlySpan<byte> stack, out int count, out bool truncated)
    {
        var unwinder = ports.Unwinder!;
        count = unwinder.Unwind(pid, e.Ip, e.Sp, e.Bp, stack, _unwound, out truncated, out bool leftMappings);
        if (truncated && count > 0 && Process(pid) is { } process && (leftMappings || !process.IsKnown(_unwound[count - 1])))
        {
            // Samples are rare enough to afford a fresh read each time this happens.
            process.RefreshMaps(force: true);
            count = unwinder.Unwind(pid, e.Ip, e.Sp, e.Bp, stack, _unwound, out truncated, out _);
        }
        return count;
    }

    void OnExec(in BpfEventHeader e, int pid)
    {
        Records.Exec(new ProcessExec { Pid = e.Pid, TimeNanos = (long)e.TimeNanos - _origin, Name = e.Comm.ToString() });
        NoteThread(e.Pid, e.Tid, e.Comm);
        if (Process(pid) is { } process)
        {
            // A new image may bring its own allocator (statically linked): probe it before it runs.
            process.RefreshMapsAndProbes(fresh: true);
            // The launcher's exec into the command was decided (and said) at launch.
            if (_launchedRoot == pid)
            {
                _launchedRoot = null;
                ReplayAfterExec(pid, (long)e.TimeNanos);
            }
            else if (InheritedPreload is { } library) NoteWithoutPreload(pid, e.Comm.ToString(), library);
        }
        // Stopped by the exec hook when children are followed; harmless otherwise.
        Resume(pid);
    }

    /// <summary>The launcher became the command: of its events held so far, those from after the
    /// exec are the command's.</summary>
    void ReplayAfterExec(int pid, long execNanos)
    {
        _launcher = (pid, execNanos);
        var held = _heldForExec.ToList();
        _heldForExec.Clear();
        foreach (var record in held) OnRecord(record);
    }

    /// <summary>Stopped at exec, before the dynamic linker runs: a static image, or an environment
    /// without the library, means this program is probed rather than sampled in-process.</summary>
    void NoteWithoutPreload(int pid, string name, string library)
    {
        bool dynamic = ports.Processes.Maps(pid).Any(m => m.IsFile && IsDynamicLinker(m.Path));
        string? why = !dynamic ? "statically linked"
            : (ports.Processes.EnvironmentVariable(pid, "LD_PRELOAD") ?? "").Split([':', ' ']).Contains(library) ? null
            : "LD_PRELOAD dropped from its environment";
        if (why is null) return;
        string note = $"in-process sampling unavailable in {name} ({why}): probing its allocator calls";
        if (_notes.Add(note)) Note?.Invoke(note);
    }

    static bool IsDynamicLinker(string path)
    {
        string name = Path.GetFileName(path);
        return name.StartsWith("ld-linux", StringComparison.Ordinal) || name.StartsWith("ld64.so", StringComparison.Ordinal) ||
               (name.StartsWith("ld-", StringComparison.Ordinal) && name.Contains(".so", StringComparison.Ordinal));
    }

    void OnFork(in BpfEventHeader e, int pid)
    {
        Records.Fork(new ProcessFork
        {
            Pid = e.Pid, ParentPid = (uint)e.OldAddress, TimeNanos = (long)e.TimeNanos - _origin, Name = e.Comm.ToString(),
        });
        // A child that is gone before its maps are read maps nothing: nothing of it to record.
        if (!_processes.ContainsKey(pid) && ports.Processes.Exists(pid))
        {
            var child = Add(pid, launched: true, mayVanish: true);
            child.RefreshMapsAndProbes();
        }
        Resume(pid);
    }

    void OnProcessExit(in BpfEventHeader e, int pid)
    {
        int status = (int)e.Size;
        int code = (status & 0x7f) != 0 ? 128 + (status & 0x7f) : (status >> 8) & 0xff;
        if (Process(pid) is { } process)
        {
            process.WriteTotals((long)e.TimeNanos - _origin, t => t - _origin);
            process.Exited = true;
        }
        Records.Exit(new ProcessExit { Pid = e.Pid, TimeNanos = (long)e.TimeNanos - _origin, ExitCode = code });
        ProcessExited?.Invoke(pid, code);
    }

    /// <summary>Records a thread's name when first seen and whenever it changes (exec, prctl).</summary>
    void NoteThread(uint pid, uint tid, in ThreadName comm)
    {
        ReadOnlySpan<byte> bytes = comm;
        // Every event names its thread, and runs of one thread's events are the rule: the last
        // one's name is compared before the table is looked up.
        if (tid == _lastThread && _lastThreadName is { } last && bytes.SequenceEqual(last)) return;
        if (_threadNames.TryGetValue(tid, out var known) && bytes.SequenceEqual(known))
        {
            (_lastThread, _lastThreadName) = (tid, known);
            return;
        }
        var name = bytes.ToArray();
        _threadNames[tid] = name;
        (_lastThread, _lastThreadName) = (tid, name);
        Records.Thread(new Core.Recording.Proto.Thread { Pid = pid, Tid = tid, Name = comm.ToString() });
    }

    public Stats Stats()
    {
        var counters = ports.Kernel.ReadCounters();
        return new Stats
        {
            TimeNanos = SinceOrigin(), Events = (ulong)Events, LostEvents = counters.LostEvents,
            LostStacks = counters.StackErrors, Samples = counters.Samples,
            UntrackedSamples = counters.SampledMapFull + _processes.Values.Aggregate(0UL, (sum, p) => sum + p.PreloadUntrackedSamples),
        };
    }
}
