namespace Profiler.Core.Analysis;

/// <summary>
/// What a group of allocations (a site, a function, a call-tree node) did. Bytes are the bytes
/// the recorded events stand for (their weights); blocks are the objects they stand for: a
/// sampled event of <c>size</c> bytes and weight <c>w</c> stands for <c>w / size</c> objects, so
/// blocks are estimates with a fraction when sampled and exact counts at sampling rate 1.
/// All figures add up: the metrics of a union are the sum of the parts' metrics.
/// </summary>
/// <param name="Samples">Allocation events behind the figures (how much evidence an estimate has).</param>
/// <param name="PeakBytes">Live at the heap's peak (t-gmax) of the allocating process.</param>
/// <param name="RetainedBytes">Live at the end of the recording.</param>
/// <param name="LeakedBytes">Live when the allocating process exited (only processes whose exit was recorded).</param>
/// <param name="ShortLivedBytes">Freed sooner than <see cref="MetricsOptions.ShortLivedNanos"/> after allocation.</param>
/// <param name="LifetimeBlockNanos">Sum over freed blocks of their lifetime; divided by
/// <paramref name="FreedBlocks"/> it is the average lifetime.</param>
/// <param name="ReallocGrowthBytes">Net bytes realloc calls added over the blocks they replaced
/// (shrinking counts negative), counting only calls whose replaced block was recorded.</param>
/// <param name="ReallocBlocks">The realloc calls counted in <paramref name="ReallocGrowthBytes"/>.</param>
public readonly record struct AllocationMetrics(
    long Samples,
    long AllocatedBytes, double AllocatedBlocks,
    long FreedBytes, double FreedBlocks,
    long PeakBytes, double PeakBlocks,
    long RetainedBytes, double RetainedBlocks,
    long LeakedBytes, double LeakedBlocks,
    long ShortLivedBytes, double ShortLivedBlocks,
    double LifetimeBlockNanos,
    long ReallocGrowthBytes, double ReallocBlocks)
{
    /// <summary>Mean lifetime of the freed blocks, null when none was freed.</summary>
    public double? AverageLifetimeNanos => FreedBlocks > 0 ? LifetimeBlockNanos / FreedBlocks : null;

    /// <summary>The share of allocated blocks that were short-lived, null when none was allocated.</summary>
    public double? ShortLivedShare => AllocatedBlocks > 0 ? ShortLivedBlocks / AllocatedBlocks : null;

    public static AllocationMetrics operator +(in AllocationMetrics a, in AllocationMetrics b) => new(
        a.Samples + b.Samples,
        a.AllocatedBytes + b.AllocatedBytes, a.AllocatedBlocks + b.AllocatedBlocks,
        a.FreedBytes + b.FreedBytes, a.FreedBlocks + b.FreedBlocks,
        a.PeakBytes + b.PeakBytes, a.PeakBlocks + b.PeakBlocks,
        a.RetainedBytes + b.RetainedBytes, a.RetainedBlocks + b.RetainedBlocks,
        a.LeakedBytes + b.LeakedBytes, a.LeakedBlocks + b.LeakedBlocks,
        a.ShortLivedBytes + b.ShortLivedBytes, a.ShortLivedBlocks + b.ShortLivedBlocks,
        a.LifetimeBlockNanos + b.LifetimeBlockNanos,
        a.ReallocGrowthBytes + b.ReallocGrowthBytes, a.ReallocBlocks + b.ReallocBlocks);
}

/// <param name="Pid">Only this process's allocations, when given.</param>
/// <param name="ShortLivedNanos">An allocation freed sooner than this after it was made is
/// short-lived. A lifetime is measured per recorded event, so the definition holds for sampled
/// recordings too: a sampled event's lifetime is that of a real object, and it counts for the
/// objects it stands for.</param>
/// <param name="SiteMode">Which frame of a stack is its allocation's site.</param>
public sealed record MetricsOptions(uint? Pid = null, long ShortLivedNanos = MetricsOptions.DefaultShortLivedNanos,
    SiteMode SiteMode = SiteMode.Program)
{
    public const long DefaultShortLivedNanos = 1_000_000;
}
