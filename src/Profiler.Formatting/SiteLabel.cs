using System.Globalization;
using Profiler.Core.Analysis;

namespace Profiler.Formatting;

/// <summary>Where a site is, as the report's site table and the terminal UI print it.</summary>
public static class SiteLabel
{
    /// <summary>"src/cache.rs:42,57,+2 more": the site's call lines, most allocated bytes first.</summary>
    public static string? Location(FunctionMetrics site)
    {
        const int shownLines = 3;
        string lines = site.Lines.Count > 0
            ? string.Join(",", site.Lines.Take(shownLines)) + (site.Lines.Count > shownLines ? $",+{site.Lines.Count - shownLines} more" : "")
            : site.FunctionLine?.ToString(CultureInfo.InvariantCulture) ?? "";
        if (site.File is null) return lines.Length == 0 ? null : $"line {lines}";
        return lines.Length == 0 ? site.File : $"{site.File}:{lines}";
    }

    /// <summary>"src/cache.rs:42  [libfoo.so]": the location and the module, whichever are known;
    /// <paramref name="noLocation"/> stands in for an unknown location.</summary>
    public static string Where(FunctionMetrics site, string? noLocation = null) =>
        string.Join("  ", new[] { Location(site) ?? noLocation, site.Module is null ? null : $"[{site.Module}]" }.OfType<string>());
}
