using Profiler.Core;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using static Profiler.Formatting.ReportFormat;

namespace Profiler.Export;

/// <param name="Pid">Only this process, when given.</param>
/// <param name="ShortLivedNanos">Blocks freed sooner than this after allocation are short-lived.</param>
/// <param name="Sites">Which frame of a stack is its allocation's site.</param>
public sealed record TextReportOptions(
    SiteOrder By = SiteOrder.Retained, int Top = 10, uint? Pid = null, long ShortLivedNanos = MetricsOptions.DefaultShortLivedNanos,
    SiteMode Sites = SiteMode.Program);

/// <summary>`memprof report`: what was recorded and the heap's totals — exact figures first where
/// the collector counted every call, estimates labelled with their standard error — then the top sites.</summary>
public static class TextReport
{
    public static void Write(ProfileModel model, TextReportOptions options, TextWriter output)
    {
        if (options.Pid is { } pid && !model.Processes.Any(p => p.Pid == pid) && !model.Counters.Any(c => c.Pid == pid))
            throw new ProfilerException(ExitCode.TargetNotFound,
                $"no process {pid} in the recording; it has {string.Join(", ", model.Processes.Select(p => p.Pid))}");
        bool sampled = !Core.Sampling.PoissonSampling.RecordsEverything(model.Info.SamplingRateBytes);
        // Everything the header says of the events comes from the metrics' own walk over them.
        var facts = new ReportFacts(model, options.Pid);
        var error = new SamplingError.Visitor(model, options.Pid);
        var metrics = HeapMetrics.Compute(model, new MetricsOptions(options.Pid, options.ShortLivedNanos, options.Sites),
            sampled ? [facts, error] : [facts]);
        WriteHeader(model, facts, sampled ? error.Result : default, metrics, output);
        output.WriteLine();
        var rows = SiteRanking.Top(metrics.Sites(model.Tables), options.By, options.Top);
        string? none = rows.Count == 0 ? ReportText.WhyNoSite(model, metrics, options.By) : null;
        SiteTable.Write(output, options.By, rows, options.Pid, options.ShortLivedNanos, none);
    }

    /// <summary>The GC heap of the recorded .NET runtimes, apart from the native figures.</summary>
    static string? ManagedHeapLine(ProfileModel model)
    {
        if (model.ManagedHeap.Count == 0) return null;
        var peak = model.ManagedHeap.MaxBy(h => h.Bytes)!;
        var last = model.ManagedHeap[^1];
        return $"GC heap:    {ExactBytes(peak.Bytes)} at its highest ({Time(peak.TimeNanos)}), {ExactBytes(last.Bytes)} last " +
               $"(.NET runtime's gc-heap-size counter, once a second; managed, not in the figures above)";
    }

    static void WriteHeader(ProfileModel model, ReportFacts facts, SamplingError error, HeapMetrics metrics, TextWriter output)
    {
        var info = model.Info;
        var heapOf = metrics.Timelines.Overall;
        var total = metrics.Total;
        uint? pid = metrics.Options.Pid;
        bool sampled = !Core.Sampling.PoissonSampling.RecordsEverything(info.SamplingRateBytes);
        bool counted = heapOf.Exact is not null;
        var coverage = CounterCoverage.Of(model);
        // "exact" only where the counters saw every call of every process shown.
        bool exactCounters = heapOf.Source == HeapSource.Counters && coverage.Complete;

        output.WriteLine($"Command:    {string.Join(' ', info.Command)}");
        output.WriteLine($"Recording:  pid {info.TargetPid}, {(info.Launched ? "launched" : "attached")}, {info.DurationNanos / 1e9:F2} s, " +
                         $"{model.EventSource.Count:N0} events; {info.Collector}, {info.Mode}");
        // Exact figures come first: the counters saw every call, the events only the samples.
        if (heapOf.Exact is { } exact)
            output.WriteLine($"Counters:   {ExactBytes((long)exact.AllocatedBytes)} in {exact.Allocations:N0} calls; " +
                             $"freed {ExactBytes((long)exact.FreedBytes)} usable in {exact.Frees:N0} calls; {coverage.Qualifier}");
        output.WriteLine(sampled
            ? $"Sampling:   one sample per {Bytes((long)info.SamplingRateBytes)} allocated on average: figures from events are " +
              "estimates (± one standard error)"
            : CounterCoverage.MissesProgramAllocator(model)
                ? "Sampling:   every allocation recorded (rate 1) of the allocators found: the executable's own was not found, its calls are missing"
                : "Sampling:   every allocation recorded (rate 1): the figures from events are exact");
        output.WriteLine(ReportText.Allocated(total, error, sampled, counted));
        output.WriteLine($"Peak heap:  {ExactBytes(heapOf.PeakBytes)} at {Time(heapOf.PeakTimeNanos)} ({SourceOf(heapOf.Source, sampled, coverage)})");
        output.WriteLine(ReportText.AtEnd(total, error, sampled, exactCounters ? heapOf.FinalLiveBytes : null));
        if (ManagedHeapLine(model) is { } managed) output.WriteLine(managed);
        var shown = model.Processes.Where(p => (pid ?? p.Pid) == p.Pid).ToList();
        if (shown.Any(p => p.EndNanos is not null))
        {
            bool allExited = shown.All(p => p.EndNanos is not null);
            output.WriteLine(ReportText.Leaked(total, error, sampled,
                allExited && exactCounters ? heapOf.FinalLiveBytes : null));
        }
        foreach (var line in ReportText.Unpaired(model, facts)) output.WriteLine(line);
        foreach (var line in ReportText.ExecReleased(facts)) output.WriteLine(line);
        foreach (var line in ReportText.Lost(model, facts)) output.WriteLine(line);
        foreach (var line in ReportText.Stacks(model, facts)) output.WriteLine(line);
        WriteProcesses(model, metrics, output);
    }

    static string SourceOf(HeapSource source, bool sampled, CounterCoverage coverage) => source switch
    {
        HeapSource.Counters => coverage.Complete ? "exact, allocator counters" : "allocator counters, not exact: see Counters",
        HeapSource.Events => sampled ? "estimated from the sampled events" : "from the events",
        _ => "counters and events summed over processes",
    };

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
