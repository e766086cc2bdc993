using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace Profiler.Collectors.Linux.DotNet;

/// <summary>Follows a running .NET runtime's GC heap size.</summary>
public interface IGcHeapSource
{
    /// <summary>Starts following in the background (never waiting on the process, which may be
    /// stopped by memprof itself at a fork, exec or exit); <paramref name="sample"/> gets the heap's
    /// bytes, on another thread.</summary>
    /// <param name="failed">Called (on another thread) with why it could not start.</param>
    void Start(int pid, Action<long> sample, Action<string> failed);

    /// <summary>Stops following every process (what was already read has been passed on).</summary>
    void StopAll();
}

/// <summary>The runtime's own "gc-heap-size" counter (System.Runtime event counters, once a second,
/// GC.GetTotalMemory(false) in whole megabytes), read over an EventPipe session.</summary>
public sealed class EventPipeGcHeapSource : IGcHeapSource
{
    const string CounterName = "gc-heap-size";
    /// <summary>Starting a session makes the runtime allocate a great deal, each call slowed by the
    /// probes at --rate 1: it is given time (nothing waits on it but the end of the recording).</summary>
    static readonly TimeSpan IpcTimeout = TimeSpan.FromSeconds(10);
    readonly List<(EventPipeSession Session, Thread Reader)> _sessions = [];
    readonly List<Task> _starting = [];
    readonly CancellationTokenSource _stop = new();

    public void Start(int pid, Action<long> sample, Action<string> failed)
    {
        lock (_starting) _starting.Add(Task.Run(async () =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(IpcTimeout);
            try
            {
                var provider = new EventPipeProvider("System.Runtime", EventLevel.Informational, 0,
                    new Dictionary<string, string> { ["EventCounterIntervalSec"] = "1" });
                var session = await new DiagnosticsClient(pid).StartEventPipeSessionAsync([provider], requestRundown: false, token: timeout.Token);
                var reader = new Thread(() => Read(session, sample)) { IsBackground = true, Name = $"gc heap of {pid}" };
                reader.Start();
                lock (_sessions) _sessions.Add((session, reader));
            }
            catch (Exception e) when (IsIpcFailure(e) || e is OperationCanceledException)
            {
                failed(e is OperationCanceledException ? "its diagnostics IPC did not answer in time" : e.Message);
            }
        }));
    }

    public void StopAll()
    {
        _stop.Cancel();
        Task[] starting;
        lock (_starting) starting = [.. _starting];
        Task.WaitAll(starting, IpcTimeout);
        List<(EventPipeSession Session, Thread Reader)> sessions;
        lock (_sessions) sessions = [.. _sessions];
        foreach (var (session, reader) in sessions)
        {
            // Stopping asks the process: bounded, in case it cannot answer (stopped, or gone).
            Task.Run(() =>
            {
                try { session.Stop(); }
                catch (Exception e) when (IsIpcFailure(e)) { /* gone: its stream has ended */ }
            }).Wait(IpcTimeout);
            reader.Join(IpcTimeout);
            session.Dispose();
        }
    }

    static void Read(EventPipeSession session, Action<long> sample)
    {
        try
        {
            using var source = new EventPipeEventSource(session.EventStream);
            source.Dynamic.All += data =>
            {
                if (data.EventName != "EventCounters" || data.PayloadValue(0) is not IDictionary<string, object> payload ||
                    !payload.TryGetValue("Payload", out var inner) || inner is not IDictionary<string, object> fields ||
                    !fields.TryGetValue("Name", out var name) || name as string != CounterName || !fields.TryGetValue("Mean", out var mean))
                    return;
                sample((long)(Convert.ToDouble(mean, System.Globalization.CultureInfo.InvariantCulture) * 1_000_000));
            };
            source.Process();
        }
        catch (Exception e) when (IsIpcFailure(e) || e is ObjectDisposedException or EndOfStreamException)
        {
            // The process ended or the session was stopped mid-read: what was read stays.
        }
    }

    static bool IsIpcFailure(Exception e) =>
        e is ServerNotAvailableException or UnsupportedCommandException or ServerErrorException or TimeoutException
            or IOException or UnauthorizedAccessException or InvalidOperationException;
}
