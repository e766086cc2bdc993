namespace Profiler.Core.Analysis;

/// <summary>What became of a recorded allocation: known when it is freed, or at the end.</summary>
readonly record struct Outcome(bool Freed, bool AtPeak, bool Leaked, bool ShortLived, double LifetimeBlockNanos);

/// <summary>
/// <see cref="AllocationMetrics"/> summed in place: adding the record struct copies 128 bytes
/// twice per allocation. An allocation adds what it allocated when it is made and its
/// <see cref="Outcome"/> when that is known, so a walk keeps nothing per allocation but its
/// live block. Only the figures an allocation has are added; every figure is zero or more
/// (growth aside, an integer).
/// </summary>
struct MetricsSum
{
    long _samples, _allocatedBytes, _freedBytes, _peakBytes, _retainedBytes, _leakedBytes, _shortLivedBytes, _reallocGrowthBytes;
    double _allocatedBlocks, _freedBlocks, _peakBlocks, _retainedBlocks, _leakedBlocks, _shortLivedBlocks, _lifetimeBlockNanos, _reallocBlocks;

    public readonly long Samples => _samples;

    public void AddAllocation(long bytes, double blocks, long reallocGrowthBytes, double reallocBlocks)
    {
        _samples++;
        _allocatedBytes += bytes;
        _allocatedBlocks += blocks;
        _reallocGrowthBytes += reallocGrowthBytes;
        _reallocBlocks += reallocBlocks;
    }

    public void AddOutcome(long bytes, double blocks, in Outcome f)
    {
        if (f.Freed)
        {
            _freedBytes += bytes;
            _freedBlocks += blocks;
            _lifetimeBlockNanos += f.LifetimeBlockNanos;
        }
        else
        {
            _retainedBytes += bytes;
            _retainedBlocks += blocks;
        }
        if (f.AtPeak)
        {
            _peakBytes += bytes;
            _peakBlocks += blocks;
        }
        if (f.Leaked)
        {
            _leakedBytes += bytes;
            _leakedBlocks += blocks;
        }
        if (f.ShortLived)
        {
            _shortLivedBytes += bytes;
            _shortLivedBlocks += blocks;
        }
    }

    public readonly AllocationMetrics ToMetrics() => new(
        _samples,
        _allocatedBytes, _allocatedBlocks,
        _freedBytes, _freedBlocks,
        _peakBytes, _peakBlocks,
        _retainedBytes, _retainedBlocks,
        _leakedBytes, _leakedBlocks,
        _shortLivedBytes, _shortLivedBlocks,
        _lifetimeBlockNanos,
        _reallocGrowthBytes, _reallocBlocks);
}
