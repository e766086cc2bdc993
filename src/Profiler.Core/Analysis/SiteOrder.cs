namespace Profiler.Core.Analysis;

/// <summary>What a list of sites is ranked by.</summary>
public enum SiteOrder
{
    /// <summary>Bytes live at the end of the recording.</summary>
    Retained,
    /// <summary>Bytes allocated.</summary>
    Allocated,
    /// <summary>Bytes live at the heap's peak.</summary>
    Peak,
    /// <summary>Bytes live when their process exited.</summary>
    Leaked,
    /// <summary>Blocks allocated.</summary>
    Count,
    /// <summary>Short-lived blocks allocated.</summary>
    ShortLived,
}

public static class SiteRanking
{
    public static double KeyOf(in AllocationMetrics m, SiteOrder order) => order switch
    {
        SiteOrder.Retained => m.RetainedBytes,
        SiteOrder.Allocated => m.AllocatedBytes,
        SiteOrder.Peak => m.PeakBytes,
        SiteOrder.Leaked => m.LeakedBytes,
        SiteOrder.Count => m.AllocatedBlocks,
        SiteOrder.ShortLived => m.ShortLivedBlocks,
        _ => throw new ArgumentOutOfRangeException(nameof(order), order, null),
    };

    /// <summary>The <paramref name="top"/> rows with the largest non-zero key, in a stable order
    /// (ties by name, module, then file).</summary>
    public static IReadOnlyList<FunctionMetrics> Top(IEnumerable<FunctionMetrics> rows, SiteOrder order, int top) =>
        rows.Where(r => KeyOf(r.Metrics, order) > 0)
            .OrderByDescending(r => KeyOf(r.Metrics, order))
            .ThenBy(r => r.Name, StringComparer.Ordinal)
            .ThenBy(r => r.Module, StringComparer.Ordinal)
            .ThenBy(r => r.File, StringComparer.Ordinal)
            .Take(top)
            .ToList();

    /// <summary>The name used on the command line: retained, allocated, peak, leaked, count, short-lived.</summary>
    public static string CommandName(this SiteOrder order) => order == SiteOrder.ShortLived ? "short-lived" : order.ToString().ToLowerInvariant();

    public static bool TryParse(string text, out SiteOrder order)
    {
        foreach (var candidate in Enum.GetValues<SiteOrder>())
        {
            if (!string.Equals(candidate.CommandName(), text, StringComparison.OrdinalIgnoreCase)) continue;
            order = candidate;
            return true;
        }
        order = default;
        return false;
    }
}
