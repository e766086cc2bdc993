namespace Profiler.Core.Analysis;

/// <summary>What one recorded allocation contributes to <see cref="AllocationMetrics"/>.</summary>
readonly record struct AllocationFacts(
    long Bytes, double Blocks, bool Freed, bool AtPeak, bool Leaked, bool ShortLived,
    double LifetimeBlockNanos, long ReallocGrowthBytes, double ReallocBlocks);

/// <summary>
/// <see cref="AllocationMetrics"/> summed in place, one allocation after another: adding the
/// record struct copies 128 bytes twice per allocation. Only the figures an allocation has are
/// added; every figure is zero or more (growth aside, an integer), and adding zero changes no sum,
/// so the totals are bit for bit those of adding whole <see cref="AllocationMetrics"/> in the same order.
/// </summary>
struct MetricsSum
{
    long _samples, _allocatedBytes, _freedBytes, _peakBytes, _retainedBytes, _leakedBytes, _shortLivedBytes, _reallocGrowthBytes;
    double _allocatedBlocks, _freedBlocks, _peakBlocks, _retainedBlocks, _leakedBlocks, _shortLivedBlocks, _lifetimeBlockNanos, _reallocBlocks;

    public readonly long Samples => _samples;

    public void Add(in AllocationFacts f)
    {
        _samples++;
        _allocatedBytes += f.Bytes;
        _allocatedBlocks += f.Blocks;
        if (f.Freed)
        {
            _freedBytes += f.Bytes;
            _freedBlocks += f.Blocks;
            _lifetimeBlockNanos += f.LifetimeBlockNanos;
        }
        else
        {
            _retainedBytes += f.Bytes;
            _retainedBlocks += f.Blocks;
        }
        if (f.AtPeak)
        {
            _peakBytes += f.Bytes;
            _peakBlocks += f.Blocks;
        }
        if (f.Leaked)
        {
            _leakedBytes += f.Bytes;
            _leakedBlocks += f.Blocks;
        }
        if (f.ShortLived)
        {
            _shortLivedBytes += f.Bytes;
            _shortLivedBlocks += f.Blocks;
        }
        _reallocGrowthBytes += f.ReallocGrowthBytes;
        _reallocBlocks += f.ReallocBlocks;
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
