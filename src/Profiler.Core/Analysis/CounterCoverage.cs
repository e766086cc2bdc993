using Profiler.Core.Model;

namespace Profiler.Core.Analysis;

/// <summary>
/// What a recording's counters cover. The collector counts every call of the allocator functions
/// it probes, and the glibc usable bytes of each block, from the moment it counts. That is the
/// exact heap only when memprof counted from the process's start and the allocator is glibc's
/// malloc; otherwise reports say what the counters cover instead of calling them exact.
/// </summary>
/// <param name="Gaps">Why the counters are not the whole heap, one reason each (empty: they are).</param>
public sealed record CounterCoverage(IReadOnlyList<string> Gaps)
{
    /// <summary>Says that memprof's mode note comes from a preload library found at attach.</summary>
    public const string ResidentPreloadNote = "preload library already in the process";

    /// <summary>Says in memprof's mode note that a statically linked executable's allocator was
    /// not found by symbol: none of its calls were counted.</summary>
    public const string AllocatorNotFoundNote = "its allocator could not be found";

    public bool Complete => Gaps.Count == 0;

    /// <summary>The program's own allocator was not probed: neither counters nor events hold its
    /// calls, so no figure of the recording is exact.</summary>
    public static bool MissesProgramAllocator(ProfileModel model) =>
        model.Info.Mode.Contains(AllocatorNotFoundNote, StringComparison.Ordinal);

    /// <summary>"exact", or what the figures are and why, for a report's parenthesis.</summary>
    public string Qualifier => Complete ? "exact" : "counted, not exact: " + string.Join("; ", Gaps);

    public static CounterCoverage Of(ProfileModel model)
    {
        var gaps = new List<string>();
        if (model.Counters.Count == 0) return new(gaps);
        if (!model.Info.Launched)
            gaps.Add(model.Info.Mode.Contains(ResidentPreloadNote, StringComparison.Ordinal)
                ? "they run from the process's start (a preload library already in it counted), not from when memprof attached"
                : "they run from when memprof attached: blocks allocated before it are freed uncounted");
        var replaced = model.ReplacedImages.Where(x => model.Counters.Any(c => c.Pid == x.Pid)).ToList();
        if (replaced.Count > 0)
            gaps.Add($"an exec replaced an image that had allocated ({string.Join(", ", replaced.Select(x => $"pid {x.Pid} at {x.ExecTimeNanos / 1e6:F1} ms"))}): " +
                     "its calls after the last read of its counters (every 100 ms) are not counted");
        // The note names the executable and why; it is the gap as it stands.
        foreach (var note in model.Info.Mode.Split("; ").Where(n => n.Contains(AllocatorNotFoundNote, StringComparison.Ordinal)))
            gaps.Add(note);
        if (model.Counters.Any(c => !c.LiveBytesKnown))
            gaps.Add("live and freed bytes are unknown: calls went to an allocator other than glibc's malloc, whose block sizes memprof cannot read");
        return new(gaps);
    }
}
