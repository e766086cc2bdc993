using System.Runtime.InteropServices;
using Profiler.Core;
using Profiler.Core.Sampling;

namespace Profiler.Collectors.Linux.Bpf;

/// <summary>The loaded BPF object: attaches per-process uprobes and drains the ring buffer.
/// Disposing it destroys every link, so no probe outlives the session.</summary>
public sealed unsafe class BpfTracer : IKernelTracer
{
    public enum ProbeKind { Classic, Multi, Session }

    readonly nint _obj;
    readonly nint _entryProg;
    readonly nint _returnProg;
    readonly nint _sessionProg;
    readonly int _countersFd;
    readonly int _targetsFd;
    readonly int _totalsFd;
    readonly List<nint> _tracepointLinks = [];
    readonly nint _ringBuffer;
    readonly Dictionary<int, List<nint>> _links = [];
    readonly Dictionary<int, List<int>> _multiLinks = [];
    readonly ProbeKind _kind;
    GCHandle _self;
    BpfEventSink? _sink;
    bool _disposed;

    /// <param name="newest">The newest probe mechanism to use if the kernel has it: sessions
    /// (≥ 6.13), uprobe_multi (≥ 6.6), else classic per-offset links. Tests force older ones.</param>
    public BpfTracer(TracerSettings settings, ProbeKind newest = ProbeKind.Session)
    {
        Native.RaiseMemlockLimit();
        LibBpf.SetPrint(&OnLibbpfMessage);
        _kind = newest switch
        {
            ProbeKind.Session when UprobeMulti.SessionsSupported => ProbeKind.Session,
            ProbeKind.Session or ProbeKind.Multi when UprobeMulti.Supported => ProbeKind.Multi,
            _ => ProbeKind.Classic,
        };
        var bytes = EmbeddedObject();
        fixed (byte* p = bytes)
            _obj = LibBpf.ObjectOpenMem(p, (nuint)bytes.Length, 0);
        if (_obj == 0)
            throw new ProfilerException(ExitCode.CollectorFailed, $"cannot open the BPF object: {Native.LastErrorText()}");
        _entryProg = LibBpf.FindProgram(_obj, "memprof_entry");
        _returnProg = LibBpf.FindProgram(_obj, "memprof_return");
        _sessionProg = LibBpf.FindProgram(_obj, "memprof_session");
        // A program's attach type is fixed at load: load only the ones this mode attaches.
        bool session = _kind == ProbeKind.Session;
        LibBpf.SetAutoload(_sessionProg, session);
        LibBpf.SetAutoload(_entryProg, !session);
        LibBpf.SetAutoload(_returnProg, !session);
        // The stack-copy buffers are one array entry per CPU (too large for a per-CPU map).
        LibBpf.MapSetMaxEntries(LibBpf.FindMap(_obj, "scratch"), (uint)Math.Max(1, LibBpf.NumPossibleCpus()));
        // Every call a sample with a copy of its stack (often 4-30 KiB): a slow reader lost records
        // with 16 MiB. Sampled recordings keep 16 MiB (it is mapped twice into memprof). With the
        // shared rings, the kernel's buffer carries exec, fork and exit, and only the events of
        // threads beyond the rings and of signal handlers the per-thread stash could not hold.
        if (settings.SharedRings)
            LibBpf.MapSetMaxEntries(LibBpf.FindMap(_obj, "events"), SharedRingsBufferBytes);
        else if (settings.StackCopyBytes > 0 && PoissonSampling.RecordsEverything(settings.SampleRateBytes))
            LibBpf.MapSetMaxEntries(LibBpf.FindMap(_obj, "events"), 64 << 20);
        if (settings.RingBufferBytes is { } requested)
            LibBpf.MapSetMaxEntries(LibBpf.FindMap(_obj, "events"), (uint)Math.Min(1UL << 31, System.Numerics.BitOperations.RoundUpToPowerOf2(Math.Max(requested, 4096UL))));
        if (session)
            LibBpf.SetExpectedAttachType(_sessionProg, UprobeMulti.SessionAttachType);
        else if (_kind == ProbeKind.Multi)
        {
            LibBpf.SetExpectedAttachType(_entryProg, UprobeMulti.AttachType);
            LibBpf.SetExpectedAttachType(_returnProg, UprobeMulti.AttachType);
        }
        int err = LibBpf.ObjectLoad(_obj);
        if (err != 0)
        {
            LibBpf.ObjectClose(_obj);
            bool denied = err == -1 || err == -13;
            // Denied, libbpf's own words (about its in-memory object) add nothing.
            throw new ProfilerException(denied ? ExitCode.PermissionDenied : ExitCode.CollectorFailed,
                $"cannot load the BPF programs ({Native.ErrorText(-err)}); memprof needs root or CAP_BPF+CAP_PERFMON{(denied ? "" : LastLibbpfMessage())}");
        }
        _countersFd = MapFd("counters");
        _targetsFd = MapFd("targets");
        _totalsFd = MapFd("totals");
        try
        {
            Configure(settings);
            foreach (var name in new[] { "memprof_exec", "memprof_fork", "memprof_process_exit" })
            {
                var link = LibBpf.Attach(LibBpf.FindProgram(_obj, name));
                if (link == 0)
                    throw new ProfilerException(ExitCode.KernelUnsupported, $"cannot attach {name} to its tracepoint: {Native.LastErrorText()}");
                _tracepointLinks.Add(link);
            }
            _self = GCHandle.Alloc(this);
            _ringBuffer = LibBpf.RingBufferNew(MapFd("events"), &OnSample, GCHandle.ToIntPtr(_self), 0);
            if (_ringBuffer == 0)
                throw new ProfilerException(ExitCode.CollectorFailed, $"cannot open the BPF ring buffer: {Native.LastErrorText()}");
        }
        catch
        {
            if (_self.IsAllocated) _self.Free();
            foreach (var link in _tracepointLinks) LibBpf.LinkDestroy(link);
            LibBpf.ObjectClose(_obj);
            throw;
        }
    }

    int MapFd(string name) => LibBpf.MapFd(LibBpf.FindMap(_obj, name));

    void Configure(TracerSettings settings)
    {
        uint zero = 0;
        var config = new BpfConfig
        {
            SampleRate = settings.SampleRateBytes,
            StackCopy = (uint)Math.Clamp(settings.StackCopyBytes, 0, BpfEventHeader.MaxStackCopy),
            FollowChildren = settings.FollowChildren ? 1u : 0u,
        };
        Update(MapFd("config"), zero, &config);
        if (PoissonSampling.RecordsEverything(settings.SampleRateBytes)) return;
        var gaps = PoissonSampling.GapQuantiles(settings.SampleRateBytes, GapTableSize);
        int gapsFd = MapFd("gaps");
        for (uint i = 0; i < gaps.Length; i++)
        {
            ulong gap = gaps[i];
            Update(gapsFd, i, &gap);
        }
        // Each CPU starts at a random point of its own Poisson process.
        int cpus = Math.Max(1, LibBpf.NumPossibleCpus());
        var start = new long[cpus];
        for (int c = 0; c < cpus; c++) start[c] = (long)gaps[Random.Shared.Next(gaps.Length)];
        fixed (long* values = start) Update(MapFd("countdown"), zero, values);
    }

    /// <summary>MEMPROF_GAP_TABLE_SIZE: entries of the gaps map.</summary>
    public const int GapTableSize = 4096;

    /// <summary>The kernel's ring buffer when the events go through the shared rings (--buffer overrides).
    /// Not smaller: a process the rings cannot serve (exec'ed without LD_PRELOAD: `env -u LD_PRELOAD`,
    /// a setuid program) traps every call with its stack copy, and 8 MiB lost two thirds of a short
    /// program's events (allocs-fp, 20,692 events) where 16 MiB lost none.</summary>
    public const uint SharedRingsBufferBytes = 16 << 20;

    static void Update(int fd, uint key, void* value)
    {
        if (LibBpf.MapUpdate(fd, &key, value, 0) != 0)
            throw new ProfilerException(ExitCode.CollectorFailed, $"cannot configure the BPF maps: {Native.LastErrorText()}");
    }

    static byte[] EmbeddedObject()
    {
        using var s = typeof(BpfTracer).Assembly.GetManifestResourceStream("memprof.bpf.o")
            ?? throw new InvalidOperationException("memprof.bpf.o is not embedded");
        var bytes = new byte[s.Length];
        s.ReadExactly(bytes);
        return bytes;
    }

    public string Mode => _kind switch
    {
        ProbeKind.Session => "uprobe-session",
        ProbeKind.Multi => "uprobe_multi+uretprobe_multi",
        _ => "uprobe+uretprobe",
    };

    public int LinkCount => _links.Values.Sum(l => l.Count) + _multiLinks.Values.Sum(l => l.Count);

    public void Track(int pid, bool launched)
    {
        var kind = launched ? BpfTarget.Launched : BpfTarget.Attached;
        if (LibBpf.MapUpdate(_targetsFd, &pid, &kind, 0) != 0)
            throw new ProfilerException(ExitCode.CollectorFailed, $"cannot track pid {pid}: {Native.LastErrorText()}");
    }

    public void Attach(int pid, string path, IReadOnlyList<UprobeTarget> targets)
    {
        var offsets = targets.Select(t => t.FileOffset).ToArray();
        var cookies = targets.Select(t => t.Cookie).ToArray();
        switch (_kind)
        {
            case ProbeKind.Session:
                AddMulti(pid, UprobeMulti.Create(LibBpf.ProgramFd(_sessionProg), pid, path, offsets, cookies,
                    isReturn: false, UprobeMulti.SessionAttachType));
                return;
            case ProbeKind.Multi:
                var returns = targets.Where(t => t.WithReturn).Select(t => t.FileOffset).ToArray();
                // Return first: an entry whose return is never seen would leave its thread's
                // record marked in flight.
                if (returns.Length > 0)
                    AddMulti(pid, UprobeMulti.Create(LibBpf.ProgramFd(_returnProg), pid, path, returns, new ulong[returns.Length], isReturn: true));
                AddMulti(pid, UprobeMulti.Create(LibBpf.ProgramFd(_entryProg), pid, path, offsets, cookies, isReturn: false));
                return;
            default:
                foreach (var t in targets)
                {
                    if (t.WithReturn) AttachOne(_returnProg, pid, path, t.FileOffset, 0, retprobe: true);
                    AttachOne(_entryProg, pid, path, t.FileOffset, t.Cookie, retprobe: false);
                }
                return;
        }
    }

    void AddMulti(int pid, int fd)
    {
        if (!_multiLinks.TryGetValue(pid, out var list)) _multiLinks[pid] = list = [];
        list.Add(fd);
    }

    void AttachOne(nint prog, int pid, string path, ulong fileOffset, ulong cookie, bool retprobe)
    {
        var opts = new LibBpf.UprobeOpts { Size = (nuint)sizeof(LibBpf.UprobeOpts), BpfCookie = cookie, Retprobe = retprobe };
        var link = LibBpf.AttachUprobe(prog, pid, path, (nuint)fileOffset, &opts);
        if (link == 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new ProfilerException(errno == 3 ? ExitCode.TargetNotFound : ExitCode.CollectorFailed,
                $"cannot attach a uprobe to {path}+0x{fileOffset:x} in pid {pid}: {Native.ErrorText(errno)}");
        }
        if (!_links.TryGetValue(pid, out var list)) _links[pid] = list = [];
        list.Add(link);
    }

    public int Drain(BpfEventSink sink, int timeoutMs)
    {
        _sink = sink;
        try
        {
            int n = LibBpf.RingBufferPoll(_ringBuffer, timeoutMs);
            // Submissions do not wake us; after a timeout the data is still there to consume.
            int m = LibBpf.RingBufferConsume(_ringBuffer);
            return Math.Max(0, n) + Math.Max(0, m);
        }
        finally { _sink = null; }
    }

    public TracerCounters ReadCounters() => new(SumCounter(BpfCounter.LostEvents), SumCounter(BpfCounter.StackErrors),
        SumCounter(BpfCounter.SampledMapFull), SumCounter(BpfCounter.Samples));

    ulong SumCounter(BpfCounter counter)
    {
        uint index = (uint)counter;
        int cpus = LibBpf.NumPossibleCpus();
        var values = stackalloc ulong[Math.Max(cpus, 1)];
        if (LibBpf.MapLookup(_countersFd, &index, values) != 0) return 0;
        ulong sum = 0;
        for (int i = 0; i < cpus; i++) sum += values[i];
        return sum;
    }

    public BpfTotals? ReadTotals(int pid)
    {
        BpfTotals totals;
        return LibBpf.MapLookup(_totalsFd, &pid, &totals) == 0 ? totals : null;
    }

    /// <summary>Releasing a link waits for an RCU grace period (20–60 ms each, measured); releases
    /// run in the background, so a process that exits does not stall the recording, and each on a
    /// thread of its own: grace periods waited for together overlap, where one after the other
    /// they were most of a short recording's end.</summary>
    public void Detach(int pid)
    {
        _links.Remove(pid, out var links);
        _multiLinks.Remove(pid, out var fds);
        var releases = new List<Action>();
        foreach (var link in links ?? []) releases.Add(() => LibBpf.LinkDestroy(link));
        foreach (var fd in fds ?? []) releases.Add(() => UprobeMulti.Close(fd));
        // Classic links come one per probed offset: a few threads share them.
        const int MostThreads = 8;
        for (int lane = 0; lane < Math.Min(MostThreads, releases.Count); lane++)
        {
            var mine = releases.Where((_, i) => i % MostThreads == lane).ToList();
            // Not the thread pool: its few threads would queue blocked releases behind each other.
            var running = Task.Factory.StartNew(() => mine.ForEach(release => release()), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default);
            _releases.Add(running);
            PendingReleases.Add(running);
        }
    }

    /// <summary>Releases every probe and returns once none is left attached.</summary>
    public void DetachAll(bool wait = true)
    {
        foreach (var pid in _links.Keys.Concat(_multiLinks.Keys).Distinct().ToList()) Detach(pid);
        if (!wait) return;
        Task.WaitAll(_releases);
        _releases.Clear();
    }

    readonly List<Task> _releases = [];

    [UnmanagedCallersOnly]
    static int OnSample(nint context, void* data, nuint size)
    {
        var tracer = (BpfTracer)GCHandle.FromIntPtr(context).Target!;
        tracer._sink?.Invoke(new ReadOnlySpan<byte>(data, (int)size));
        return 0;
    }

    static string? _lastLibbpfMessage;

    static string LastLibbpfMessage() =>
        _lastLibbpfMessage is { } m ? $" — libbpf: {(m.StartsWith("libbpf: ", StringComparison.Ordinal) ? m[8..] : m).Trim()}" : "";

    [UnmanagedCallersOnly]
    static int OnLibbpfMessage(int level, nint format, nint args)
    {
        if (level == 0) _lastLibbpfMessage = Native.FormatVaList(format, args);
        return 0;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        // Not waited for: a session that leaves a live process waited already (DetachAll); one
        // whose processes are gone lets the releases finish beside what memprof does next, and
        // memprof waits for any still going before it exits (PendingReleases).
        DetachAll(wait: false);
        foreach (var link in _tracepointLinks) LibBpf.LinkDestroy(link);
        LibBpf.RingBufferFree(_ringBuffer);
        LibBpf.ObjectClose(_obj);
        if (_self.IsAllocated) _self.Free();
    }
}
