using Profiler.Core.Sampling;

namespace Profiler.Tests.Sampling;

/// <summary>heapprofd's rule on top of byte-based Poisson sampling: blocks of at least the rate are
/// taken at their own size, smaller ones keep their probabilities and weights, and estimates stay
/// unbiased whatever the mix.</summary>
public sealed class PoissonSamplingTests
{
    const ulong Rate = 512 * 1024;

    [Theory]
    [InlineData(Rate)]
    [InlineData(1_000_000UL)]
    [InlineData(64UL << 20)]
    public void A_block_of_at_least_the_rate_is_certain_and_weighs_its_size(ulong size)
    {
        Assert.Equal(1.0, PoissonSampling.Probability(size, Rate));
        Assert.Equal(size, PoissonSampling.Weight(size, Rate));
    }

    [Fact]
    public void Three_leaked_megabyte_blocks_weigh_exactly_their_bytes()
    {
        ulong poisson = 3 * (ulong)Math.Round(1_000_000 / PoissonSampling.PoissonProbability(1_000_000, Rate));
        Assert.Equal(3_523_086UL, poisson); // what the pure Poisson weight used to report
        Assert.Equal(3_000_000UL, 3 * PoissonSampling.Weight(1_000_000, Rate));
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(4096UL)]
    [InlineData(Rate - 1)]
    public void A_smaller_block_keeps_the_Poisson_weight(ulong size)
    {
        double p = -double.ExpM1(-(double)size / Rate);
        Assert.Equal(p, PoissonSampling.Probability(size, Rate), 12);
        Assert.Equal((ulong)Math.Round(size / p), PoissonSampling.Weight(size, Rate));
    }

    [Fact]
    public void Jemallocs_own_sampling_has_no_large_block_rule()
    {
        Assert.True(PoissonSampling.PoissonProbability(1_000_000, Rate) < 0.9);
        Assert.True(Profiler.Collectors.Linux.Jemalloc.JemallocProfiling.SampleWeight(1_000_000, 1_003_520, Rate) > 1_100_000);
    }

    [Fact]
    public void The_sampler_takes_every_large_block_and_leaves_the_countdown_of_small_ones_alone()
    {
        // Small blocks of 64 KiB between blocks of 1 MB: each small one must still be taken with
        // probability 1 - e^(-s/R), as if the large ones were not there.
        const ulong small = 64 * 1024, large = 1_000_000;
        const int rounds = 200_000;
        var sampler = new PoissonSampler(Rate, new Random(12345));
        int smallTaken = 0;
        double estimate = 0;
        for (int i = 0; i < rounds; i++)
        {
            Assert.True(sampler.Sample(large, out ulong largeWeight));
            Assert.Equal(large, largeWeight);
            if (sampler.Sample(small, out ulong weight)) { smallTaken++; estimate += weight; }
        }
        double p = -double.ExpM1(-(double)small / Rate);
        double sd = Math.Sqrt(rounds * p * (1 - p));
        Assert.InRange(smallTaken, rounds * p - 5 * sd, rounds * p + 5 * sd);
        // Unbiased: the small blocks' weights add up to their bytes (within 5 standard deviations).
        double truth = (double)rounds * small;
        Assert.InRange(estimate, truth - 5 * sd * small / p, truth + 5 * sd * small / p);
    }
}
