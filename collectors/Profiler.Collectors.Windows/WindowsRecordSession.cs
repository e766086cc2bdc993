using System.Diagnostics;
using System.Runtime.Versioning;
using Microsoft.Diagnostics.Tracing.Session;
using Profiler.Collectors.HeapTrace;
using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.Windows;

/// <param name="SamplingRateBytes">Mean bytes between sampled allocations; 1 writes every one.</param>
public sealed record WindowsRecordOptions(
    string OutputPath,
    IReadOnlyList<string> Command,
    int? Pid,
    TimeSpan? Duration,
    string MemprofVersion,
    ulong SamplingRateBytes = 1);

/// <param name="Events">Events written to the recording.</param>
/// <param name="HeapCalls">Heap calls ETW delivered (every one, sampled or not).</param>
public sealed record WindowsRecordResult(int TargetPid, int? CommandExitCode, long Events, ulong LostEvents, long HeapCalls,
    string Mode, HeapTraceSummary Summary);

public sealed record WindowsRecorderStatus(TimeSpan Elapsed, long HeapCalls, double HeapCallsPerSecond, long Events, ulong Lost);

/// <summary>One `memprof record` on Windows: launch suspended or attach, trace the heap with ETW
/// until the target exits, the duration ends or the user cancels, then stop both sessions.</summary>
public static class WindowsRecordSession
{
    public const string Collector = "windows-etw";
    public const string Mode = "etw-heap";
    static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(2);

    public static WindowsRecordResult Run(WindowsRecordOptions options, Action<WindowsRecorderStatus>? status, CancellationToken cancel)
    {
        if (!OperatingSystem.IsWindows())
            throw new ProfilerException(ExitCode.KernelUnsupported, "recording with ETW needs Windows");
        return RunOnWindows(options, status, cancel);
    }

    [SupportedOSPlatform("windows")]
    static WindowsRecordResult RunOnWindows(WindowsRecordOptions options, Action<WindowsRecorderStatus>? status, CancellationToken cancel)
    {
        if (TraceEventSession.IsElevated() != true) throw new ProfilerException(ExitCode.PermissionDenied, EtwErrors.NotElevated);
        using var attached = options.Pid is { } attachPid ? OpenRunning(attachPid) : null;
        var clock = QpcClock.StartingNow();
        long startUnixNanos = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        int pid = attached?.Id ?? 0;
        var gate = new RecordGate();
        // Until a launched target has its pid, every process's records are let through (the
        // consumer keeps the target's): its first image loads may be delivered before the pid is known.
        var adapter = new TraceEventAdapter(clock, p => Volatile.Read(ref pid) is var target && (target == 0 || p == target), gate.Post);
        SuspendedProcess? launched = null;
        var sessions = new EtwSessions();
        // Ctrl-C is handled by the caller through `cancel`; this covers exits that skip finally blocks.
        EventHandler stopOnExit = (_, _) => sessions.Dispose();
        AppDomain.CurrentDomain.ProcessExit += stopOnExit;
        try
        {
            sessions.StartKernel(adapter);
            if (attached is null)
            {
                launched = SuspendedProcess.Start(options.Command);
                Volatile.Write(ref pid, launched.Pid);
            }
            Func<bool> alive = launched is not null ? () => !launched.HasExited : () => !attached!.HasExited;
            sessions.StartHeap(pid, adapter, alive);

            var header = new Header
            {
                StartUnixNanos = startUnixNanos, TargetPid = (uint)pid, Collector = Collector, Mode = Mode,
                SamplingRateBytes = options.SamplingRateBytes, Hostname = Environment.MachineName,
                Kernel = Environment.OSVersion.VersionString, MemprofVersion = options.MemprofVersion, Launched = launched is not null,
            };
            header.Command.AddRange(launched is not null ? options.Command : [CommandOf(attached!)]);
            using var writer = RecordingWriter.Create(options.OutputPath, header);
            gate.Open(new HeapTraceConsumer(writer, new HeapTraceOptions((uint)pid)
            {
                SamplingRateBytes = options.SamplingRateBytes, Launched = launched is not null,
            }));
            launched?.Resume();

            Record(sessions, gate, writer, clock, options.Duration, alive, status, cancel);

            // The command shares the console, so Ctrl-C reached it too: give it a moment to end.
            if (launched is not null && cancel.IsCancellationRequested && !launched.WaitForExit(ExitGrace))
                launched.Terminate(Win32.StatusControlCExit);
            // Let ETW hand over what its buffers still hold, then stop both sessions.
            sessions.Flush();
            long lost = sessions.EventsLost;
            sessions.Dispose();
            if (sessions.ReaderError is { } readerError)
                throw new ProfilerException(ExitCode.CollectorFailed, $"reading the ETW sessions failed: {readerError.Message}", readerError);
            long end = clock.NowNanos();
            // The kernel session reports the exit; this covers an exit it did not deliver in time.
            if (launched is not null && launched.HasExited) gate.Post(new ProcessStop(end, (uint)pid, launched.ExitCode));
            var summary = gate.With(c =>
            {
                c.Complete();
                writer.WriteStats(new Stats { TimeNanos = end, Events = (ulong)writer.EventCount, LostEvents = (ulong)lost });
                writer.Complete(new Footer { EndTimeNanos = end, Events = (ulong)writer.EventCount, LostEvents = (ulong)lost });
                return c.Summary;
            });
            // After --duration a launched command runs on untraced; its exit code is still passed through.
            int? exitCode = launched is not null && launched.WaitForExit(Timeout.InfiniteTimeSpan) ? launched.ExitCode : null;
            return new WindowsRecordResult(pid, exitCode, writer.EventCount, (ulong)lost, summary.HeapEvents, Mode, summary);
        }
        catch
        {
            // Never leave a launched command suspended behind us.
            if (launched is not null && !launched.HasExited) launched.Resume();
            throw;
        }
        finally
        {
            sessions.Dispose();
            AppDomain.CurrentDomain.ProcessExit -= stopOnExit;
            launched?.Dispose();
        }
    }

    [SupportedOSPlatform("windows")]
    static void Record(EtwSessions sessions, RecordGate gate, RecordingWriter writer, QpcClock clock, TimeSpan? duration,
        Func<bool> alive, Action<WindowsRecorderStatus>? status, CancellationToken cancel)
    {
        var sw = Stopwatch.StartNew();
        var lastStatus = TimeSpan.Zero;
        long lastCalls = 0;
        while (!cancel.IsCancellationRequested && alive() && (duration is not { } d || sw.Elapsed < d))
        {
            cancel.WaitHandle.WaitOne(50);
            if (sessions.ReaderError is { } e)
                throw new ProfilerException(ExitCode.CollectorFailed, $"reading the ETW sessions failed: {e.Message}", e);
            var summary = gate.With(c =>
            {
                c.Advance(clock.NowNanos());
                writer.Tick();
                return c.Summary;
            });
            if (sw.Elapsed - lastStatus < TimeSpan.FromSeconds(1)) continue;
            long lost = sessions.EventsLost;
            status?.Invoke(new WindowsRecorderStatus(sw.Elapsed, summary.HeapEvents,
                (summary.HeapEvents - lastCalls) / (sw.Elapsed - lastStatus).TotalSeconds, summary.WrittenEvents, (ulong)lost));
            gate.With(_ => { writer.WriteStats(new Stats { TimeNanos = clock.NowNanos(), Events = (ulong)writer.EventCount, LostEvents = (ulong)lost }); return 0; });
            lastStatus = sw.Elapsed;
            lastCalls = summary.HeapEvents;
        }
    }

    static Process OpenRunning(int pid)
    {
        try
        {
            var process = Process.GetProcessById(pid);
            _ = process.Handle; // fails now, not mid-recording, when it cannot be opened
            return process;
        }
        catch (ArgumentException)
        {
            throw new ProfilerException(ExitCode.TargetNotFound, $"no process with pid {pid}");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new ProfilerException(ExitCode.PermissionDenied, $"cannot open pid {pid}: {e.Message}");
        }
    }

    static string CommandOf(Process process)
    {
        try { return process.MainModule?.FileName ?? process.ProcessName; }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { return process.ProcessName; }
    }
}
