using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Profiler.Core;

namespace Profiler.Collectors.Linux.Bpf;

/// <summary>The loaded BPF object: attaches per-process uprobes and drains the ring buffer.
/// Disposing it destroys every link, so no probe outlives the session.</summary>
public sealed unsafe class BpfTracer : IKernelTracer
{
    readonly nint _obj;
    readonly nint _entryProg;
    readonly nint _returnProg;
    readonly nint _exitProg;
    readonly int _countersFd;
    readonly int _targetsFd;
    readonly nint _execLink;
    readonly nint _ringBuffer;
    readonly List<nint> _links = [];
    readonly List<int> _multiLinks = [];
    readonly bool _multi;
    GCHandle _self;
    BpfEventSink? _sink;
    bool _disposed;

    /// <param name="preferMulti">Use uprobe_multi links where the kernel has them (≥ 6.6);
    /// false forces the classic per-offset links older kernels use.</param>
    public BpfTracer(bool preferMulti = true)
    {
        Native.RaiseMemlockLimit();
        LibBpf.SetPrint(&OnLibbpfMessage);
        var bytes = EmbeddedObject();
        fixed (byte* p = bytes)
            _obj = LibBpf.ObjectOpenMem(p, (nuint)bytes.Length, 0);
        if (_obj == 0)
            throw new ProfilerException(ExitCode.CollectorFailed, $"cannot open the BPF object: {Native.LastErrorText()}");
        _multi = preferMulti && UprobeMulti.Supported;
        if (_multi)
        {
            // A program's attach type is fixed at load: multi programs cannot also attach classically.
            LibBpf.SetExpectedAttachType(LibBpf.FindProgram(_obj, "memprof_entry"), UprobeMulti.AttachType);
            LibBpf.SetExpectedAttachType(LibBpf.FindProgram(_obj, "memprof_return"), UprobeMulti.AttachType);
        }
        int err = LibBpf.ObjectLoad(_obj);
        if (err != 0)
        {
            LibBpf.ObjectClose(_obj);
            throw new ProfilerException(err == -1 || err == -13 ? ExitCode.PermissionDenied : ExitCode.CollectorFailed,
                $"cannot load the BPF programs ({Native.ErrorText(-err)}); memprof needs root or CAP_BPF+CAP_PERFMON{LastLibbpfMessage()}");
        }
        _entryProg = LibBpf.FindProgram(_obj, "memprof_entry");
        _returnProg = LibBpf.FindProgram(_obj, "memprof_return");
        _exitProg = LibBpf.FindProgram(_obj, "memprof_exit");
        _countersFd = LibBpf.MapFd(LibBpf.FindMap(_obj, "counters"));
        _targetsFd = LibBpf.MapFd(LibBpf.FindMap(_obj, "targets"));
        _execLink = LibBpf.Attach(LibBpf.FindProgram(_obj, "memprof_exec"));
        if (_execLink == 0)
        {
            LibBpf.ObjectClose(_obj);
            throw new ProfilerException(ExitCode.KernelUnsupported, $"cannot attach to the sched_process_exec tracepoint: {Native.LastErrorText()}");
        }
        _self = GCHandle.Alloc(this);
        _ringBuffer = LibBpf.RingBufferNew(LibBpf.MapFd(LibBpf.FindMap(_obj, "events")), &OnSample, GCHandle.ToIntPtr(_self), 0);
        if (_ringBuffer == 0)
        {
            _self.Free();
            LibBpf.LinkDestroy(_execLink);
            LibBpf.ObjectClose(_obj);
            throw new ProfilerException(ExitCode.CollectorFailed, $"cannot open the BPF ring buffer: {Native.LastErrorText()}");
        }
    }

    static byte[] EmbeddedObject()
    {
        using var s = typeof(BpfTracer).Assembly.GetManifestResourceStream("memprof.bpf.o")
            ?? throw new InvalidOperationException("memprof.bpf.o is not embedded");
        var bytes = new byte[s.Length];
        s.ReadExactly(bytes);
        return bytes;
    }

    public string Mode => _multi ? "uprobe_multi+uretprobe_multi" : "uprobe+uretprobe";

    public int LinkCount => _links.Count + _multiLinks.Count;

    public void Track(int pid, bool launched)
    {
        byte kind = launched ? (byte)2 : (byte)1; // MEMPROF_TARGET_LAUNCHED / _ATTACHED
        if (LibBpf.MapUpdate(_targetsFd, &pid, &kind, 0) != 0)
            throw new ProfilerException(ExitCode.CollectorFailed, $"cannot track pid {pid}: {Native.LastErrorText()}");
    }

    public void AttachExitHook(int pid, string path, ulong fileOffset) =>
        AttachOne(_exitProg, pid, path, fileOffset, 0, retprobe: false);

    public void Attach(int pid, string path, IReadOnlyList<UprobeTarget> targets)
    {
        if (!_multi)
        {
            foreach (var t in targets) Attach(pid, path, t.FileOffset, t.Cookie, t.WithReturn);
            return;
        }
        var returns = targets.Where(t => t.WithReturn).Select(t => t.FileOffset).ToArray();
        // Return first: an entry whose return is never seen would leave its thread's record
        // marked in flight.
        if (returns.Length > 0)
            _multiLinks.Add(UprobeMulti.Create(LibBpf.ProgramFd(_returnProg), pid, path, returns, new ulong[returns.Length], isReturn: true));
        _multiLinks.Add(UprobeMulti.Create(LibBpf.ProgramFd(_entryProg), pid, path,
            targets.Select(t => t.FileOffset).ToArray(), targets.Select(t => t.Cookie).ToArray(), isReturn: false));
    }

    void Attach(int pid, string path, ulong fileOffset, ulong cookie, bool withReturn)
    {
        // Return first: an entry whose return is never seen would leave its thread's record
        // marked in flight.
        if (withReturn) AttachOne(_returnProg, pid, path, fileOffset, 0, retprobe: true);
        AttachOne(_entryProg, pid, path, fileOffset, cookie, retprobe: false);
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
        _links.Add(link);
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

    public (ulong LostEvents, ulong StackErrors) ReadCounters() => (SumCounter(0), SumCounter(1));

    ulong SumCounter(uint index)
    {
        int cpus = LibBpf.NumPossibleCpus();
        var values = stackalloc ulong[Math.Max(cpus, 1)];
        if (LibBpf.MapLookup(_countersFd, &index, values) != 0) return 0;
        ulong sum = 0;
        for (int i = 0; i < cpus; i++) sum += values[i];
        return sum;
    }

    public void DetachAll()
    {
        foreach (var link in _links) LibBpf.LinkDestroy(link);
        _links.Clear();
        foreach (var fd in _multiLinks) UprobeMulti.Close(fd);
        _multiLinks.Clear();
    }

    [UnmanagedCallersOnly]
    static int OnSample(nint context, void* data, nuint size)
    {
        var tracer = (BpfTracer)GCHandle.FromIntPtr(context).Target!;
        tracer._sink?.Invoke(new ReadOnlySpan<byte>(data, (int)size));
        return 0;
    }

    static string? _lastLibbpfMessage;

    static string LastLibbpfMessage() => _lastLibbpfMessage is { } m ? $" — libbpf: {m.Trim()}" : "";

    [UnmanagedCallersOnly]
    static int OnLibbpfMessage(int level, nint format, nint args)
    {
        // Formatting a va_list from managed code is not portable; keep the format text only.
        if (level == 0) _lastLibbpfMessage = Marshal.PtrToStringUTF8(format);
        return 0;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DetachAll();
        LibBpf.LinkDestroy(_execLink);
        LibBpf.RingBufferFree(_ringBuffer);
        LibBpf.ObjectClose(_obj);
        if (_self.IsAllocated) _self.Free();
    }
}

public readonly record struct UprobeTarget(ulong FileOffset, ulong Cookie, bool WithReturn);

public delegate void BpfEventSink(ReadOnlySpan<byte> record);

/// <summary>The kernel side of a session, behind a seam so the session logic can be tested without BPF.</summary>
public interface IKernelTracer : IDisposable
{
    string Mode { get; }
    int LinkCount { get; }
    /// <summary>Reports exec of this process (and is where following children will hook in).</summary>
    void Track(int pid, bool launched);
    /// <summary>Stops a launched target as it enters exit() so its maps can be read; see memprof_exit.</summary>
    void AttachExitHook(int pid, string path, ulong fileOffset);
    /// <summary>Puts the allocation probes on these offsets of one file, for one process.</summary>
    void Attach(int pid, string path, IReadOnlyList<UprobeTarget> targets);
    int Drain(BpfEventSink sink, int timeoutMs);
    (ulong LostEvents, ulong StackErrors) ReadCounters();
    void DetachAll();
}
