using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Export;

/// <summary>`memprof report`: totals, then the top sites by retained and by allocated bytes.</summary>
public static class TextReport
{
    public static void Write(ProfileModel model, int top, TextWriter output)
    {
        var heap = HeapAnalysis.Compute(model);
        var sites = SiteAnalysis.BySite(model, heap);
        var t = heap.Totals;
        var info = model.Info;
        output.WriteLine($"Recording: {string.Join(' ', info.Command)} (pid {info.TargetPid}, {(info.Launched ? "launched" : "attached")}, {info.Mode})");
        output.WriteLine($"Duration:  {info.DurationNanos / 1e9:F2} s, {model.Events.Count:N0} events" +
                         (info.LostEvents > 0 ? $", {info.LostEvents:N0} LOST" : ""));
        output.WriteLine($"Allocated: {Bytes(t.AllocatedBytes)} in {t.Allocations:N0} allocations; freed {Bytes(t.FreedBytes)} in {t.Frees:N0} frees");
        output.WriteLine($"Peak:      {Bytes(t.PeakBytes)} at {t.PeakTimeNanos / 1e6:F1} ms");
        output.WriteLine($"Retained:  {Bytes(t.LiveBytes)} in {t.LiveBlocks:N0} blocks still live at the end");
        output.WriteLine();
        Table(output, "Top sites by retained bytes (live at the end)",
            sites.Where(s => s.RetainedBytes > 0).OrderByDescending(s => s.RetainedBytes).ThenBy(s => s.Function, StringComparer.Ordinal).Take(top));
        output.WriteLine();
        Table(output, "Top sites by allocated bytes",
            sites.OrderByDescending(s => s.AllocatedBytes).ThenBy(s => s.Function, StringComparer.Ordinal).Take(top));
    }

    static void Table(TextWriter output, string title, IEnumerable<SiteStats> rows)
    {
        output.WriteLine(title);
        output.WriteLine($"  {"retained",12} {"blocks",8} {"allocated",12} {"allocs",9} {"freed",12} {"peak",12}  site");
        foreach (var s in rows)
        {
            output.WriteLine($"  {Bytes(s.RetainedBytes),12} {s.RetainedBlocks,8:N0} {Bytes(s.AllocatedBytes),12} {s.Allocations,9:N0} " +
                             $"{Bytes(s.FreedBytes),12} {Bytes(s.PeakBytes),12}  {s.Function}{(s.Module is null ? "" : $"  [{s.Module}]")}");
        }
    }

    /// <summary>Exact byte counts, grouped, so the report can be checked against ground truth.</summary>
    public static string Bytes(long bytes) => $"{bytes:N0} B";
}
