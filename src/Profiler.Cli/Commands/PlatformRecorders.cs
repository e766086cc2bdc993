using Profiler.Collectors.Linux;
using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Windows;
using Profiler.Core;
using Profiler.Core.Sampling;

namespace Profiler.Cli.Commands;

/// <summary>What `record` prints and returns, whichever collector ran.</summary>
/// <param name="Failure">What went wrong after a complete recording (the target left changed):
/// the recording is kept, and memprof fails with this.</param>
sealed record RecordOutcome(int TargetPid, int? CommandExitCode, string Summary, string? Failure = null);

/// <summary>The collector of each platform behind `memprof record`.</summary>
static class PlatformRecorders
{
    public static RecordOutcome OnLinux(RecordOptions options, string output, string name, StatusLine status, TextWriter stderr,
        CancellationToken cancel)
    {
        var sessionOptions = new RecordSessionOptions(output, options.Command, options.Pid, options.Duration, MemprofCli.Version)
        {
            SampleRateBytes = options.SampleRateBytes,
            FollowChildren = options.FollowChildren && options.Pid is null,
            Unwind = options.Unwind,
            StackCopyBytes = (int)options.StackSizeBytes,
            AllocatorMode = options.Mode,
            TargetOutputPath = options.TargetOutput,
            BufferBytes = options.BufferBytes,
            // MEMPROF_RINGS=off sends every sample to the markers (to compare the two paths).
            SharedRings = !string.Equals(Environment.GetEnvironmentVariable("MEMPROF_RINGS"), "off", StringComparison.OrdinalIgnoreCase),
        };
        var result = LinuxRecordSession.Run(
            sessionOptions,
            settings => new BpfTracer(settings, NewestProbeKind()),
            s => status.Show($"memprof: recording pid {(options.Pid?.ToString() ?? name)}{(s.Processes > 1 ? $" + {s.Processes - 1} children" : "")} · " +
                             $"{s.Events:N0} events · {s.EventsPerSecond:N0}/s · {s.Lost:N0} lost"),
            cancel,
            mode => stderr.WriteLine($"memprof: {Sampling(options)}, probes: {mode}" +
                                     (sessionOptions.FollowChildren ? ", following children" : "")));
        foreach (var note in result.Notes) stderr.WriteLine($"memprof: {note}");
        string processes = result.Processes > 1 ? $" and {result.Processes - 1} child processes" : "";
        return new RecordOutcome(result.TargetPid, result.CommandExitCode,
            $"recorded {result.Events:N0} events from pid {result.TargetPid}{processes} ({result.Probes} probes, {result.Mode})" +
            (result.LostEvents > 0 ? $"; {result.LostEvents:N0} events LOST (allocated too LOW, retained and leaked too HIGH by what they held)" : "") +
            (result.SlotsRestored is { } restored ? $"; allocator slots restored in {restored.TotalSeconds:0.00} s" : "") +
            (result.RingWaits > 0 ? $"; the program waited {result.RingWaits:N0} times for memprof to read its events (none lost)" : "") +
            (result.RingMisses > 0 ? $"; {result.RingMisses:N0} events of threads beyond the shared rings were trapped instead" : "") +
            (result.HandlerEvents.Stashed > 0 ? $"; {result.HandlerEvents.Stashed:N0} events of signal handlers that interrupted a ring write went into the ring after it" : "") +
            (result.HandlerEvents.Trapped > 0 ? $"; {result.HandlerEvents.Trapped:N0} events of signal handlers that interrupted a ring write were trapped instead" : "") +
            (result.InProcessStacks.Unwound + result.InProcessStacks.Copied > 0
                ? $"; {result.InProcessStacks.Unwound:N0} stacks unwound in process, {result.InProcessStacks.Copied:N0} copied for memprof to unwind" : ""),
            result.DetachFailure);
    }

    public static RecordOutcome OnWindows(RecordOptions options, string output, StatusLine status, CancellationToken cancel)
    {
        var result = WindowsRecordSession.Run(
            new WindowsRecordOptions(output, options.Command, options.Pid, options.Duration, MemprofCli.Version, options.SampleRateBytes),
            s => status.Show($"memprof: {s.HeapCalls:N0} heap calls · {s.HeapCallsPerSecond:N0}/s · {s.Events:N0} written · {s.Lost:N0} lost"),
            cancel);
        return new RecordOutcome(result.TargetPid, result.CommandExitCode,
            $"recorded {result.Events:N0} of {result.HeapCalls:N0} heap calls from pid {result.TargetPid} ({Sampling(options)}, {result.Mode})" +
            (result.LostEvents > 0 ? $"; {result.LostEvents:N0} events LOST" : ""));
    }

    static string Sampling(RecordOptions options) => PoissonSampling.RecordsEverything(options.SampleRateBytes)
        ? "every allocation" : $"sampling every {SizeParser.Format(options.SampleRateBytes)} on average";

    /// <summary>MEMPROF_PROBES=classic|multi forces an older probe mechanism than the kernel
    /// offers (to compare their costs, or to work around a kernel bug).</summary>
    static BpfTracer.ProbeKind NewestProbeKind() =>
        Environment.GetEnvironmentVariable("MEMPROF_PROBES")?.ToLowerInvariant() switch
        {
            "classic" => BpfTracer.ProbeKind.Classic,
            "multi" => BpfTracer.ProbeKind.Multi,
            _ => BpfTracer.ProbeKind.Session,
        };
}

/// <summary>A target process looked up by pid, on either platform.</summary>
static class TargetProcess
{
    public static string Name(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            if (Collectors.Linux.Procfs.ProcessState.WhyNotAttachable(pid) is { } why)
                throw new ProfilerException(ExitCode.TargetNotFound, why);
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return process.ProcessName;
        }
        catch (ArgumentException)
        {
            throw new ProfilerException(ExitCode.TargetNotFound, $"no process with pid {pid}");
        }
    }
}
