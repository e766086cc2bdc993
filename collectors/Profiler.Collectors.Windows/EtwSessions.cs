using System.Runtime.Versioning;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Session;

namespace Profiler.Collectors.Windows;

/// <summary>
/// The two real-time ETW sessions of one recording. The heap provider must be alone in its
/// session, so the target's heap events come from one session and the kernel's process, image and
/// VirtualAlloc events from a second; each is read on its own thread. Sessions outlive the process
/// that started them, so <see cref="Dispose"/> must run on every way out.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed class EtwSessions : IDisposable
{
    readonly List<TraceEventSession> _sessions = [];
    readonly List<Thread> _readers = [];
    Exception? _readerError;

    /// <summary>Named after memprof's own pid: it starts before a launched target exists.</summary>
    public static string KernelSessionName => $"memprof-kernel-{Environment.ProcessId}";

    /// <summary>Named after the target, so two recordings of one process collide with a clear error.</summary>
    public static string HeapSessionName(int pid) => $"memprof-heap-{pid}";

    /// <summary>An error raised on a reader thread, rethrown on the recording thread.</summary>
    public Exception? ReaderError => Volatile.Read(ref _readerError);

    public void StartKernel(TraceEventAdapter adapter)
    {
        var session = Create(KernelSessionName, bufferMB: 64);
        try
        {
            // No stacks: kernel sessions see every process, and walking the stack of each
            // VirtualAlloc machine-wide would slow the whole machine for events not recorded.
            session.EnableKernelProvider(
                KernelTraceEventParser.Keywords.Process | KernelTraceEventParser.Keywords.ImageLoad | KernelTraceEventParser.Keywords.VirtualAlloc,
                KernelTraceEventParser.Keywords.None);
        }
        catch (Exception e)
        {
            throw EtwErrors.Translate(e, session.SessionName, 0, pidAlive: true);
        }
        adapter.SubscribeKernel(session.Source);
        Read(session);
    }

    /// <summary>Heap tracing of one running (or suspended) process, with stacks on HeapAlloc and HeapReAlloc.</summary>
    public void StartHeap(int pid, TraceEventAdapter adapter, Func<bool> pidAlive)
    {
        // Heap tracing logs every call with a stack walk: large buffers keep bursts from being lost.
        var session = Create(HeapSessionName(pid), bufferMB: 256);
        try
        {
            session.EnableWindowsHeapProvider(pid);
        }
        catch (Exception e)
        {
            throw EtwErrors.Translate(e, session.SessionName, pid, pidAlive());
        }
        adapter.SubscribeHeap(session.Source);
        Read(session);
    }

    TraceEventSession Create(string name, int bufferMB)
    {
        if (TraceEventSession.GetActiveSessionNames().Contains(name, StringComparer.OrdinalIgnoreCase))
            throw EtwErrors.SessionInUse(name);
        // NoRestartOnCreate: never stop somebody else's session of the same name.
        var session = new TraceEventSession(name, TraceEventSessionOptions.NoRestartOnCreate) { BufferSizeMB = bufferMB, StopOnDispose = true };
        _sessions.Add(session);
        return session;
    }

    void Read(TraceEventSession session)
    {
        var reader = new Thread(() =>
        {
            try { session.Source.Process(); }
            catch (Exception e) { Interlocked.CompareExchange(ref _readerError, e, null); }
        })
        { IsBackground = true, Name = session.SessionName };
        reader.Start();
        _readers.Add(reader);
    }

    /// <summary>Events ETW dropped because the sessions' buffers were full.</summary>
    public long EventsLost
    {
        get
        {
            long lost = 0;
            foreach (var s in _sessions)
            {
                try { lost += s.EventsLost; }
                catch (Exception e) when (e is InvalidOperationException or System.Runtime.InteropServices.COMException) { }
            }
            return lost;
        }
    }

    /// <summary>Hands what the sessions' buffers hold to the readers now, not at the next one-second flush.</summary>
    public void Flush()
    {
        foreach (var s in _sessions)
        {
            try { s.Flush(); }
            catch (Exception e) when (e is InvalidOperationException or System.Runtime.InteropServices.COMException) { }
        }
    }

    /// <summary>Stops every session; each reader returns once it has delivered what was buffered.</summary>
    public void Dispose()
    {
        foreach (var s in _sessions) s.Stop(noThrow: true);
        foreach (var r in _readers) r.Join(TimeSpan.FromSeconds(10));
        foreach (var s in _sessions) s.Dispose();
        _sessions.Clear();
        _readers.Clear();
    }
}
