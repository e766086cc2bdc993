using System.Text.RegularExpressions;

namespace Profiler.Integration.Tests;

/// <summary>One site of `memprof report`'s top list, read back from its text: the line of
/// figures, then the name line (`      NAME[  via …][  file:line  [module]]`), then, when it did
/// not fit there, the location on a line of its own.</summary>
sealed record ReportSite(int Rank, string Name, string Figures, string NameLine, string? Module);

static partial class ReportSites
{
    public static List<ReportSite> Parse(string report)
    {
        var lines = report.Split('\n');
        var sites = new List<ReportSite>();
        for (int i = 0; i + 1 < lines.Length; i++)
        {
            var figures = FiguresLine().Match(lines[i]);
            if (!figures.Success) continue;
            string nameLine = lines[i + 1];
            string trimmed = nameLine.Trim();
            int gap = trimmed.IndexOf("  ", StringComparison.Ordinal);
            string name = gap < 0 ? trimmed : trimmed[..gap];
            // The module closes the location, on the name line or the next one.
            string location = nameLine;
            if (i + 2 < lines.Length && lines[i + 2].StartsWith("        ", StringComparison.Ordinal) && !FiguresLine().IsMatch(lines[i + 2]))
                location += lines[i + 2];
            var module = ModuleSuffix().Match(location.TrimEnd());
            sites.Add(new ReportSite(int.Parse(figures.Groups["rank"].Value), name, lines[i], nameLine, module.Success ? module.Groups["module"].Value : null));
        }
        return sites;
    }

    // "    1  2.50 MiB        4  2.50 MiB …": the rank, then the figures.
    [GeneratedRegex(@"^\s+(?<rank>\d+)\s\s+\S")]
    private static partial Regex FiguresLine();

    [GeneratedRegex(@"\[(?<module>[^\[\]]+)\]$")]
    private static partial Regex ModuleSuffix();
}
