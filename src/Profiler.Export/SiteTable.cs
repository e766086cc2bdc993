using Profiler.Core.Analysis;
using Profiler.Formatting;
using static Profiler.Formatting.ReportFormat;

namespace Profiler.Export;

/// <summary>The report's table of sites: a line of figures, then the site's name and location.</summary>
public static class SiteTable
{
    public const int Width = 100;
    const string Indent = "      ";

    public static string Title(SiteOrder order, int shown, uint? pid) => $"Top {shown} sites {By(order)}{(pid is { } p ? $", pid {p}" : "")}";

    static string By(SiteOrder order) => order switch
    {
        SiteOrder.Retained => "by retained bytes (live at the end of the recording)",
        SiteOrder.Allocated => "by allocated bytes",
        SiteOrder.Peak => "by bytes live at the heap's peak (t-gmax)",
        SiteOrder.Leaked => "by leaked bytes (live when their process exited)",
        SiteOrder.Count => "by allocated blocks",
        SiteOrder.ShortLived => "by short-lived blocks",
        _ => throw new ArgumentOutOfRangeException(nameof(order), order, null),
    };

    /// <summary>Words of <paramref name="text"/> in lines of at most <paramref name="width"/> characters.</summary>
    static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new System.Text.StringBuilder();
        foreach (var word in text.Split(' '))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0) yield return line.ToString();
    }

    /// <param name="whyNone">Said under the title when there is no row: why no site has a figure.</param>
    public static void Write(TextWriter output, SiteOrder order, IReadOnlyList<FunctionMetrics> rows, uint? pid, long shortLivedNanos,
        string? whyNone = null)
    {
        if (rows.Count == 0)
        {
            output.WriteLine($"Sites {By(order)}{(pid is { } p ? $", pid {p}" : "")}: none");
            foreach (var line in Wrap(whyNone ?? "No site has a non-zero figure in this column.", Width - 2)) output.WriteLine("  " + line);
            return;
        }
        output.WriteLine(Title(order, rows.Count, pid));
        // With --by leaked the first pair of columns shows what the table is sorted by.
        bool leaked = order == SiteOrder.Leaked;
        output.WriteLine($"  {"#",3} {(leaked ? "leaked" : "retained"),9} {"blocks",8} {"at peak",9} {"allocated",9} {"blocks",9} " +
                         $"{"freed",9} {"avg life",8} {"short",5} {"realloc",9}");
        for (int i = 0; i < rows.Count; i++)
        {
            var m = rows[i].Metrics;
            output.WriteLine($"  {i + 1,3} {Bytes(leaked ? m.LeakedBytes : m.RetainedBytes),9} {Count(leaked ? m.LeakedBlocks : m.RetainedBlocks),8} " +
                             $"{Bytes(m.PeakBytes),9} {Bytes(m.AllocatedBytes),9} {Count(m.AllocatedBlocks),9} {Bytes(m.FreedBytes),9} " +
                             $"{Duration(m.AverageLifetimeNanos),8} {Percent(m.ShortLivedShare),5} {Realloc(m),9}");
            WriteSite(output, rows[i]);
        }
        output.WriteLine($"{(leaked ? "leaked: live at process exit" : "retained: live at the end")}; at peak: live at the heap's peak; " +
                         "blocks: estimated if sampled");
        output.WriteLine($"avg life: of freed blocks; short: share freed within {Threshold(shortLivedNanos)}; realloc: net bytes realloc added");
    }

    static string Realloc(in AllocationMetrics m) => m.ReallocBlocks > 0 ? SignedBytes(m.ReallocGrowthBytes) : "-";

    /// <summary>"name  via Vec::reserve  file:line  [module]" on one line when it fits, else the
    /// location on a line of its own.</summary>
    static void WriteSite(TextWriter output, FunctionMetrics site)
    {
        string name = Fit(site.Via is null ? site.Name : $"{site.Name}  via {site.Via}{site.OtherPathsText}", Width - Indent.Length);
        string where = SiteLabel.Where(site);
        if (where.Length == 0) output.WriteLine(Indent + name);
        else if (Indent.Length + name.Length + 2 + where.Length <= Width) output.WriteLine($"{Indent}{name}  {where}");
        else
        {
            output.WriteLine(Indent + name);
            output.WriteLine($"{Indent}  {Fit(where, Width - Indent.Length - 2, keepEnd: true)}");
        }
    }
}
