using Profiler.Core;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording.Proto;
using static Profiler.Export.ReportFormat;

namespace Profiler.Export;

/// <param name="Pid">Only this process, when given.</param>
/// <param name="ShortLivedNanos">Blocks freed sooner than this after allocation are short-lived.</param>
public sealed record TextReportOptions(
    SiteOrder By = SiteOrder.Retained, int Top = 10, uint? Pid = null, long ShortLivedNanos = MetricsOptions.DefaultShortLivedNanos);

/// <summary>`memprof report`: what was recorded and the heap's totals, then the top sites.</summary>
public static class TextReport
{
    public static void Write(ProfileModel model, TextReportOptions options, TextWriter output)
    {
        if (options.Pid is { } pid && !model.Processes.Any(p => p.Pid == pid) && !model.Counters.Any(c => c.Pid == pid))
            throw new ProfilerException(ExitCode.TargetNotFound,
                $"no process {pid} in the recording; it has {string.Join(", ", model.Processes.Select(p => p.Pid))}");
        var heap = HeapAnalysis.Compute(model);
        var metrics = HeapMetrics.Compute(model, heap, new MetricsOptions(options.Pid, options.ShortLivedNanos));
        WriteHeader(model, heap, metrics, output);
        output.WriteLine();
        var rows = SiteRanking.Top(metrics.Sites(model.Tables), options.By, options.Top);
        SiteTable.Write(output, options.By, rows, options.Pid, options.ShortLivedNanos);
    }

    static void WriteHeader(ProfileModel model, HeapAnalysis heap, HeapMetrics metrics, TextWriter output)
    {
        var info = model.Info;
        var heapOf = metrics.Timelines.Overall;
        var total = metrics.Total;
        bool everyAllocation = Core.Sampling.PoissonSampling.RecordsEverything(info.SamplingRateBytes);

        output.WriteLine($"Command:    {string.Join(' ', info.Command)}");
        output.WriteLine($"Recording:  pid {info.TargetPid}, {(info.Launched ? "launched" : "attached")}, {info.DurationNanos / 1e9:F2} s, " +
                         $"{model.Events.Count:N0} events; {info.Collector}, {info.Mode}");
        output.WriteLine(everyAllocation
            ? "Sampling:   every allocation recorded (rate 1): the figures from events are exact"
            : $"Sampling:   one sample per {Bytes((long)info.SamplingRateBytes)} allocated on average: figures from events are estimates");
        if (heapOf.Exact is { } exact)
            output.WriteLine($"Counters:   {ExactBytes((long)exact.AllocatedBytes)} in {exact.Allocations:N0} calls; " +
                             $"freed {ExactBytes((long)exact.FreedBytes)} usable in {exact.Frees:N0} calls; {CounterCoverage.Of(model).Qualifier}");
        output.WriteLine($"Allocated:  {ExactBytes(total.AllocatedBytes)} in {Counted(total.AllocatedBlocks, "block")}; " +
                         $"freed {ExactBytes(total.FreedBytes)} in {Counted(total.FreedBlocks, "block")}; {Counted(total.Samples, "event")}");
        output.WriteLine($"Peak heap:  {ExactBytes(heapOf.PeakBytes)} at {Time(heapOf.PeakTimeNanos)} ({SourceOf(heapOf.Source, CounterCoverage.Of(model))})");
        output.WriteLine($"At end:     {ExactBytes(total.RetainedBytes)} live in {Counted(total.RetainedBlocks, "block")}" +
                         (heapOf.Source == HeapSource.Counters ? $" (counters: {ExactBytes(heapOf.FinalLiveBytes)} usable)" : ""));
        if (model.Processes.Any(p => p.EndNanos is not null && (metrics.Options.Pid ?? p.Pid) == p.Pid))
            output.WriteLine($"Leaked:     {ExactBytes(total.LeakedBytes)} in {Counted(total.LeakedBlocks, "block")} still live when their process exited");
        long unpaired = UnpairedFrees(model.Events, heap, metrics.Options.Pid);
        if (unpaired > 0)
            output.WriteLine($"Unpaired:   {Counted(unpaired, "free")} of blocks allocated before recording began (not attributed)");
        if (info.LostEvents > 0)
            output.WriteLine($"Lost:       {info.LostEvents:N0} events (ring buffer full): the figures from events are low");
        WriteProcesses(model, metrics, output);
    }

    static string SourceOf(HeapSource source, CounterCoverage coverage) => source switch
    {
        HeapSource.Counters => coverage.Complete ? "exact, allocator counters" : "allocator counters, not exact: see Counters",
        HeapSource.Events => "from the events",
        _ => "counters and events summed over processes",
    };

    static long UnpairedFrees(AllocationTable ev, HeapAnalysis heap, uint? pid)
    {
        long count = 0;
        for (int i = 0; i < ev.Count; i++)
            if (ev.Kind[i] == EventKind.Free && heap.Releases[i] < 0 && (pid is null || ev.Pid[i] == pid)) count++;
        return count;
    }

    static void WriteProcesses(ProfileModel model, HeapMetrics metrics, TextWriter output)
    {
        var shown = model.Processes.Where(p => metrics.Options.Pid is null || p.Pid == metrics.Options.Pid).ToList();
        if (shown.Count == 0 || (shown.Count == 1 && metrics.Options.Pid is null)) return;
        output.WriteLine(metrics.Options.Pid is null ? $"Processes:  {shown.Count}" : "Process:");
        foreach (var process in shown)
        {
            var timeline = metrics.Timelines.Of(process.Pid);
            string peak = timeline is null || timeline.PeakBytes == 0 ? "no allocations"
                : $"peak {Bytes(timeline.PeakBytes)} at {Time(timeline.PeakTimeNanos)} ({(timeline.Source == HeapSource.Counters ? (CounterCoverage.Of(model).Complete ? "exact" : "counted") : "events")})";
            string end = process.EndNanos is null ? "running at the end" : process.ExitCode is { } code ? $"exited {code}" : "exited";
            string parent = process.ParentPid is { } ppid ? $", child of {ppid}" : "";
            output.WriteLine($"  {process.Pid,7}  {Fit(process.Name, 20),-20} {peak}; {end}{parent}");
        }
    }
}
