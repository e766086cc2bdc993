using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Integration.Tests;

/// <summary>Estimated per-site numbers computed straight from a model's events (weights summed),
/// so the integration tests do not depend on the report's own aggregation.</summary>
sealed record SiteTotals(long Allocations, long AllocatedBytes, long RetainedBytes, long PeakBytes, HashSet<uint> Pids)
{
    public static Dictionary<string, SiteTotals> Of(ProfileModel model, uint? pid = null)
    {
        var heap = HeapAnalysis.Compute(model);
        var ev = model.Events;
        var result = new Dictionary<string, SiteTotals>();
        var live = new Dictionary<string, long>();
        for (int i = 0; i < ev.Count; i++)
        {
            if (pid is { } p && ev.Pid[i] != p) continue;
            int alloc = ev.Kind[i] == EventKind.Alloc ? i : heap.Releases[i];
            if (alloc < 0 || SiteAnalysis.SiteOf(model.Tables, ev.Stack[alloc]) is not { } site) continue;
            string name = model.Tables.Function(site).Name;
            var s = result.GetValueOrDefault(name) ?? new SiteTotals(0, 0, 0, 0, []);
            long bytes = (long)ev.Weight[alloc];
            if (ev.Kind[i] == EventKind.Alloc)
            {
                s.Pids.Add(ev.Pid[i]);
                live[name] = live.GetValueOrDefault(name) + bytes;
                // A sampled event stands for weight/size objects.
                long blocks = ev.Size[i] == 0 ? 1 : (long)Math.Round((double)ev.Weight[i] / ev.Size[i]);
                s = s with
                {
                    Allocations = s.Allocations + blocks, AllocatedBytes = s.AllocatedBytes + bytes,
                    RetainedBytes = s.RetainedBytes + (heap.FreedBy[i] < 0 ? bytes : 0),
                    PeakBytes = Math.Max(s.PeakBytes, live[name]),
                };
            }
            else live[name] -= bytes;
            result[name] = s;
        }
        return result;
    }

    /// <summary>Where a recording made at --rate 1 disagrees with the sample's manifest: each
    /// function's (allocations, bytes allocated, bytes retained) must be exact.</summary>
    public static IEnumerable<string> Mismatches(IReadOnlyList<ManifestSite> manifest, Dictionary<string, SiteTotals> sites)
    {
        foreach (var group in manifest.GroupBy(s => s.Function))
        {
            var expected = (group.Sum(s => s.Allocations), group.Sum(s => s.AllocatedBytes), group.Sum(s => s.LiveBytesAtExit));
            var site = sites.GetValueOrDefault(group.Key);
            var actual = (site?.Allocations ?? 0, site?.AllocatedBytes ?? 0, site?.RetainedBytes ?? 0);
            if (expected != actual) yield return $"{group.Key}: expected {expected}, recorded {actual}";
        }
    }

    /// <summary>The mismatches, and when there are any, the sites outside the manifest (where a
    /// missing event may have gone: a stack cut short names another function).</summary>
    public static List<string> Explained(IReadOnlyList<ManifestSite> manifest, Dictionary<string, SiteTotals> sites)
    {
        var problems = Mismatches(manifest, sites).ToList();
        if (problems.Count == 0) return problems;
        var known = manifest.Select(s => s.Function).ToHashSet();
        problems.Add("sites outside the manifest: " + string.Join(", ", sites.Where(s => !known.Contains(s.Key))
            .OrderByDescending(s => s.Value.Allocations).Take(12).Select(s => $"{s.Key} ({s.Value.Allocations} calls, {s.Value.AllocatedBytes} B)")));
        return problems;
    }
}
