using Profiler.Core.Analysis;
using Profiler.Core.Model;
using static Profiler.Formatting.ReportFormat;

namespace Profiler.Export;

/// <summary>
/// The report's header lines that depend on how a figure was obtained: exact (counters, rate 1)
/// or estimated from samples (then with its standard error, see <see cref="SamplingError"/>), and
/// which way lost or missing events push a figure.
/// </summary>
static class ReportText
{
    const string Continued = "            ";

    /// <summary>"± 12.3 KiB" for an estimate's standard error; empty when exact.</summary>
    static string PlusMinus(double standardError) => standardError > 0 ? $" ± {Bytes((long)Math.Round(standardError))}" : "";

    /// <summary>What the events stand for. With counters, the events are only what the site table
    /// attributes (the counters above are the totals), so they are labelled as such.</summary>
    public static string Allocated(in AllocationMetrics total, in SamplingError error, bool sampled, bool counted)
    {
        string label = counted ? "Attributed:" : "Allocated: ";
        if (!sampled)
            return $"{label} {ExactBytes(total.AllocatedBytes)} in {Counted(total.AllocatedBlocks, "block")}; " +
                   $"freed {ExactBytes(total.FreedBytes)} in {Counted(total.FreedBlocks, "block")}; {Counted(total.Samples, "event")}";
        return $"{label} {ExactBytes(total.AllocatedBytes)}{PlusMinus(error.AllocatedBytes)} in ~{Counted(total.AllocatedBlocks, "block")}, " +
               $"estimated from {Counted(total.Samples, "sample")}; freed {Bytes(total.FreedBytes)}";
    }

    /// <summary>What the events attribute, beside an exact figure: "sampled: 1,234 B ± 1.00 KiB in ~3 blocks".</summary>
    static string Attributed(long bytes, double blocks, double standardError, bool sampled) =>
        !sampled ? $"recorded: {ExactBytes(bytes)} in {Counted(blocks, "block")}"
        : blocks == 0 ? "sampled: none"
        : $"sampled: {ExactBytes(bytes)}{PlusMinus(standardError)} in ~{Counted(blocks, "block")}";

    /// <param name="countedLive">The counters' live bytes at the end, when they know them.</param>
    public static string AtEnd(in AllocationMetrics total, in SamplingError error, bool sampled, long? countedLive)
    {
        if (countedLive is { } live)
            return $"At end:     {ExactBytes(live)} live, usable size (exact, allocator counters); " +
                   Attributed(total.RetainedBytes, total.RetainedBlocks, error.RetainedBytes, sampled);
        return sampled
            ? $"At end:     {ExactBytes(total.RetainedBytes)} live{PlusMinus(error.RetainedBytes)} in ~{Counted(total.RetainedBlocks, "block")} (estimate)"
            : $"At end:     {ExactBytes(total.RetainedBytes)} live in {Counted(total.RetainedBlocks, "block")}";
    }

    /// <param name="countedLeak">The counters' live bytes at the end when every process shown
    /// exited: then that is exactly what leaked.</param>
    public static string Leaked(in AllocationMetrics total, in SamplingError error, bool sampled, long? countedLeak)
    {
        if (countedLeak is { } leak)
            return $"Leaked:     {ExactBytes(leak)} still live at exit, usable size (exact, allocator counters); " +
                   Attributed(total.LeakedBytes, total.LeakedBlocks, error.LeakedBytes, sampled);
        return sampled
            ? $"Leaked:     {ExactBytes(total.LeakedBytes)}{PlusMinus(error.LeakedBytes)} in ~{Counted(total.LeakedBlocks, "block")} " +
              "still live when their process exited (estimate)"
            : $"Leaked:     {ExactBytes(total.LeakedBytes)} in {Counted(total.LeakedBlocks, "block")} still live when their process exited";
    }

    /// <summary>
    /// Frees whose allocation is not in the recording. Attached: blocks allocated before recording
    /// began. Launched, memprof saw the process from its first instruction, so in the command's own
    /// process such a free is one whose allocation event was lost; in a child, the block may also
    /// have been allocated by its parent before the fork.
    /// </summary>
    public static IEnumerable<string> Unpaired(ProfileModel model, ReportFacts facts)
    {
        long own = facts.UnpairedOwn, inChildren = facts.UnpairedInChildren;
        if (!model.Info.Launched)
        {
            if (own + inChildren > 0)
                yield return $"Unpaired:   {Counted(own + inChildren, "free")} of blocks allocated before recording began (not attributed)";
            yield break;
        }
        if (own > 0)
            yield return $"Unpaired:   {Counted(own, "free")} whose allocation event was lost (not attributed): " +
                         "allocated figures are too LOW";
        if (inChildren > 0)
            yield return $"{(own > 0 ? Continued : "Unpaired:   ")}{Counted(inChildren, "free")} in child processes of blocks " +
                         "allocated before their fork, or lost (not attributed)";
    }

    /// <summary>Blocks still live when their process exec'd: the new image replaced the heap, so
    /// they were released then (counted as freed), neither leaked nor retained.</summary>
    public static IEnumerable<string> ExecReleased(ReportFacts facts)
    {
        long blocks = facts.ExecReleasedBlocks, bytes = facts.ExecReleasedBytes;
        if (blocks > 0)
            yield return $"Exec:       {Counted(blocks, "block")} ({Bytes(bytes)}) still live when their process exec'd " +
                         "were released by the exec: counted as freed, not leaked";
    }

    /// <summary>
    /// Events the collector could not deliver or blocks it could not follow, and which way each
    /// pushes the figures: a lost allocation is missing from what was allocated (too low); a lost
    /// free leaves its block live to the end (retained and leaked too high).
    /// </summary>
    public static IEnumerable<string> Lost(ProfileModel model, ReportFacts facts)
    {
        var info = model.Info;
        if (info.LostEvents > 0)
        {
            yield return $"Lost:       {info.LostEvents:N0} events (ring buffer full), so figures from events are off:";
            long unpaired = facts.UnmatchedFrees;
            yield return Continued + "allocated too LOW by the lost allocations" +
                         (info.Launched && unpaired > 0 ? $" ({Counted(unpaired, "free")} had no recorded allocation)" : "");
            long replaced = facts.ReusedLive;
            yield return Continued + "retained and leaked too HIGH by the blocks whose free was lost" +
                         (replaced > 0 ? $" ({CountedPlural(replaced, "address", "addresses")} reused while live)" : "");
        }
        if (info.UntrackedSamples > 0)
            yield return $"Untracked:  {Counted(info.UntrackedSamples, "sampled block")} the collector could not follow (its table " +
                         "was full): their frees were not recorded, so retained and leaked are too HIGH";
    }

    /// <summary>"Stacks: 99.6% complete (12 of 3,104 sampled stacks cut short, …)" and why stacks
    /// are cut with the way they were taken; nothing when none was cut.</summary>
    public static IEnumerable<string> Stacks(ProfileModel model, ReportFacts facts)
    {
        long withStack = facts.WithStack, cut = facts.CutStacks;
        if (cut == 0) yield break;
        double complete = 100.0 * (withStack - cut) / withStack;
        string share = complete.ToString(complete >= 99.95 && cut > 0 ? "F2" : "F1", System.Globalization.CultureInfo.InvariantCulture);
        yield return $"Stacks:     {share}% complete ({cut:N0} of {withStack:N0} sampled stacks cut short: their outer frames are " +
                     $"missing, shown as {CallTreeTables.TruncatedFunction})";
        string? why = model.Info.Stacks switch
        {
            "frame-pointer" => "a frame-pointer walk stops at code built without frame pointers; --unwind dwarf gets past it",
            "dwarf" => "stacks are unwound from a copy of their top (--stack-size, 16 KiB at most): deeper frames are cut",
            _ => null,
        };
        if (why is not null) yield return Continued + why;
    }

    /// <summary>Why a site table is empty, said instead of "Top 0 sites".</summary>
    public static string WhyNoSite(ProfileModel model, HeapMetrics metrics, SiteOrder order)
    {
        var total = metrics.Total;
        var overall = metrics.Timelines.Overall;
        bool sampled = !Core.Sampling.PoissonSampling.RecordsEverything(model.Info.SamplingRateBytes);
        string rate = $"one sample per {Bytes((long)model.Info.SamplingRateBytes)} allocated on average; --rate 1 records every allocation";
        if (total.Samples == 0)
            return overall.Exact is { Allocations: > 0 } exact
                ? $"No allocation was {(sampled ? "sampled" : "recorded")}: the counters saw {exact.Allocations:N0} calls" +
                  (sampled ? $" ({rate})." : ".")
                : "No allocation was recorded.";
        string noun = sampled ? "sampled allocation" : "recorded allocation";
        bool one = total.Samples == 1;
        string all = one ? $"the one {noun} was" : $"all {total.Samples:N0} {noun}s were";
        string none = one ? $"the one {noun} was not" : $"none of the {total.Samples:N0} {noun}s was";
        string unsampled = overall.Source == HeapSource.Counters && overall.FinalLiveBytes > 0
            ? $" The {ExactBytes(overall.FinalLiveBytes)} the counters show live at the end were " +
              (sampled ? $"never sampled ({rate})." : "not among the recorded events.")
            : "";
        string others = order is SiteOrder.Allocated or SiteOrder.Count ? "" : " --by allocated lists where allocations were made.";
        return order switch
        {
            SiteOrder.Retained => $"No site has bytes live at the end: {all} freed.{unsampled}{others}",
            SiteOrder.Leaked when !model.Processes.Any(p => p.EndNanos is not null) =>
                "No site leaked: no process exit was recorded, so nothing counts as leaked (--by retained: live at the end).",
            SiteOrder.Leaked => $"No site leaked: {all} freed before {(one ? "its" : "their")} process exited.{unsampled}{others}",
            SiteOrder.Peak => $"No site had bytes live at the heap's peak: {none} live then.{others}",
            SiteOrder.ShortLived => $"No site has short-lived blocks: {none} freed that soon.{others}",
            _ => $"No site has a non-zero figure in this column.{others}",
        };
    }

    static string CountedPlural(double count, string noun, string plural) => Count(count) is var text && text is "1" or "<1"
        ? $"{text} {noun}" : $"{text} {plural}";
}
