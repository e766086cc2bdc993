using Profiler.Core.Model;

namespace Profiler.Core.Analysis;

/// <summary>
/// The expected error of the totals estimated from byte-sampled events, as variances.
/// <para>
/// Sampling is a Poisson process over the bytes allocated, mean interval R: an allocation of s bytes
/// is sampled when at least one point falls in its s bytes, with probability p = 1 − e^(−s/R),
/// independently of every other allocation (a Poisson process has independent increments), and a
/// sampled one stands for w = s/p bytes. The estimate of a total X = Σ sᵢ is X̂ = Σ wᵢ·[i sampled],
/// unbiased, with variance Var X̂ = Σ wᵢ²·p(1−p) = Σ sᵢ²(1−pᵢ)/pᵢ over every allocation. That sum
/// runs over allocations not seen; weighting each sampled term by 1/p estimates it without bias:
/// Σ_sampled sᵢ²(1−pᵢ)/pᵢ² = Σ_sampled wᵢ²(1−pᵢ) = <b>Σ_sampled wᵢ(wᵢ − sᵢ)</b>, since w·p = s.
/// The same holds for any subset chosen by what happened to the blocks (retained, leaked), and for
/// counts of blocks, where a sampled event stands for n = w/s blocks: Σ_sampled n(n − 1).
/// </para>
/// A block much larger than R is always sampled at its own size (w ≈ s) and adds nothing; at
/// sampling rate 1 every w = s and the error is zero. For small blocks w ≈ R, so the relative
/// standard error of a total of B bytes is about √(R/B).
/// </summary>
public readonly record struct SamplingError(
    double AllocatedBytesVariance, double AllocatedBlocksVariance,
    double RetainedBytesVariance, double RetainedBlocksVariance,
    double LeakedBytesVariance, double LeakedBlocksVariance)
{
    public double AllocatedBytes => Math.Sqrt(AllocatedBytesVariance);
    public double AllocatedBlocks => Math.Sqrt(AllocatedBlocksVariance);
    public double RetainedBytes => Math.Sqrt(RetainedBytesVariance);
    public double RetainedBlocks => Math.Sqrt(RetainedBlocksVariance);
    public double LeakedBytes => Math.Sqrt(LeakedBytesVariance);
    public double LeakedBlocks => Math.Sqrt(LeakedBlocksVariance);

    /// <summary>The variance terms of one sampled allocation of <paramref name="size"/> bytes and
    /// <paramref name="weight"/>: w(w − s) for bytes, n(n − 1) for blocks.</summary>
    public static (double Bytes, double Blocks) TermsOf(ulong size, ulong weight)
    {
        if (weight <= size) return (0, 0);
        double w = weight, s = size;
        double n = HeapMetrics.BlocksOf(size, weight);
        return (w * (w - s), n * (n - 1));
    }

    /// <summary>The error of the model's totals (of one process, when <paramref name="pid"/> is given),
    /// summed by a <see cref="PairedWalk"/>: run it alone or beside other analyses' visitors.</summary>
    public sealed class Visitor(ProfileModel model, uint? pid = null) : PairedVisitor
    {
        readonly HashSet<uint> _exited = model.Processes.Where(p => p.EndNanos is not null).Select(p => p.Pid).ToHashSet();
        double _allocBytes, _allocBlocks, _retainedBytes, _retainedBlocks, _leakedBytes, _leakedBlocks;

        public SamplingError Result => new(_allocBytes, _allocBlocks, _retainedBytes, _retainedBlocks, _leakedBytes, _leakedBlocks);

        public override void Alloc(EventChunk c, int i)
        {
            if (pid is { } p && c.Pid[i] != p) return;
            var (bytes, blocks) = TermsOf(c.Size[i], c.Weight[i]);
            _allocBytes += bytes;
            _allocBlocks += blocks;
        }

        public override void End(IReadOnlyList<LiveBlock> live)
        {
            foreach (var block in live)
            {
                if (pid is { } p && block.Pid != p) continue;
                var (bytes, blocks) = TermsOf(block.Size, block.Weight);
                _retainedBytes += bytes;
                _retainedBlocks += blocks;
                if (!_exited.Contains(block.Pid)) continue;
                _leakedBytes += bytes;
                _leakedBlocks += blocks;
            }
        }
    }

    /// <summary>The error of the model's totals (of one process, when <paramref name="pid"/> is given).</summary>
    public static SamplingError Of(ProfileModel model, uint? pid = null)
    {
        var visitor = new Visitor(model, pid);
        PairedWalk.Run(model.EventSource, visitor);
        return visitor.Result;
    }
}
