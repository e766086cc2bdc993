using System.Globalization;
using Profiler.Core.Sampling;
using Profiler.Formatting;

namespace Profiler.Viewer.ViewModels;

/// <summary>What live mode adds to the status line.</summary>
/// <param name="Recording">False once the recorder has stopped.</param>
public sealed record LiveState(bool Recording, bool Paused, string? Message = null);

/// <summary>The status line: target, elapsed time, sample rate, drops, heap now and at peak, sampling mode.</summary>
public static class StatusText
{
    /// <summary>Two lines, so that 80 columns hold them.</summary>
    public static string[] Of(ViewerData d, LiveState? live)
    {
        var info = d.Model.Info;
        var overall = d.Whole.Timelines.Overall;
        var pids = d.Model.Processes.Select(p => p.Pid).DefaultIfEmpty(info.TargetPid).Distinct().ToList();
        string target = $"pid {string.Join(",", pids.Take(3))}{(pids.Count > 3 ? $"+{pids.Count - 3}" : "")} {string.Join(' ', info.Command)}";
        double seconds = info.DurationNanos / 1e9;
        string rate = seconds > 0 ? (d.Model.EventSource.Count / seconds).ToString("N0", CultureInfo.InvariantCulture) : "-";
        string sampling = PoissonSampling.RecordsEverything(info.SamplingRateBytes)
            ? "every alloc" : $"1 per {ReportFormat.Bytes((long)info.SamplingRateBytes)}";
        string mode = live is null ? "" : live.Recording ? (live.Paused ? "PAUSED │ " : "LIVE │ ") : "stopped │ ";
        string range = d.Range is { } r ? $" │ range {ReportFormat.Time(r.StartNanos)}–{ReportFormat.Time(r.EndNanos)}" : "";
        string message = live?.Message is { } m ? $" │ {m}" : "";
        return
        [
            $"{mode}{target}",
            $"{seconds.ToString("0.0", CultureInfo.InvariantCulture)} s │ {rate} ev/s │ drops {info.LostEvents:N0} │ " +
            $"heap {ReportFormat.Bytes(overall.FinalLiveBytes)} peak {ReportFormat.Bytes(overall.PeakBytes)} │ {sampling}{range}{message}",
        ];
    }
}
