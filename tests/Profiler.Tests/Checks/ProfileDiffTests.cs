using Profiler.Core.Sampling;
using Profiler.Export.Checks;
using static Profiler.Tests.Checks.Figures;

namespace Profiler.Tests.Checks;

public sealed class ProfileDiffTests
{
    static RecordingFigures Run(ulong rate, params SiteFigures[] sites) =>
        new(sites, sites.Sum(s => s.Metrics.PeakBytes), PeakExact: rate == 1, Exact: null, rate);

    [Fact]
    public void At_rate_1_a_20_percent_larger_leak_is_flagged_with_no_allowance_and_nothing_else()
    {
        var baseline = Run(1, Site("leak_leaf", "allocs", 40_960, 10, 40_960, 40_960, 10), Site("churn", "allocs", 1_000_000, 10_000, 248));
        var current = Run(1, Site("leak_leaf", "allocs", 49_152, 12, 49_152, 49_152, 12), Site("churn", "allocs", 1_000_000, 10_000, 248));
        var diff = ProfileDiff.Compute(baseline, current, new DiffOptions());
        Assert.True(diff.Exact);
        Assert.Equal(["leak_leaf (allocs)"], diff.Significant.Select(s => s.Key));
        var leaked = diff.Sites[0].Changes.Single(c => c.Metric == DiffMetric.Leaked);
        Assert.Equal((0.0, 8192.0), (leaked.Allowance, leaked.Delta));
        Assert.Equal(0.2, leaked.Relative!.Value, 9);
        Assert.Equal(["total", "leak_leaf (allocs)"], diff.Regressions.Select(r => r.Key));
    }

    [Fact]
    public void Changes_under_the_threshold_or_the_minimum_are_not_regressions()
    {
        var baseline = Run(1, Site("a", null, 100_000, 100), Site("b", null, 100, 1));
        var current = Run(1, Site("a", null, 104_000, 104), Site("b", null, 900, 1));
        var diff = ProfileDiff.Compute(baseline, current, new DiffOptions(Threshold: 0.05, MinBytes: 1024));
        Assert.Empty(diff.Regressions);
        Assert.Single(ProfileDiff.Compute(baseline, current, new DiffOptions(Threshold: 0.01, MinBytes: 1024)).Significant);
    }

    [Fact]
    public void A_sampled_20_percent_change_of_a_small_leak_is_within_the_noise()
    {
        const ulong rate = 512 * 1024;
        // One sample each side: the estimates are one rate's worth of bytes apart at most.
        var baseline = Run(rate, Site("leak_leaf", "allocs", 524_300, 128, 524_300, 524_300, 128));
        var current = Run(rate, Site("leak_leaf", "allocs", 629_160, 153.6, 629_160, 629_160, 153.6));
        Assert.Empty(ProfileDiff.Compute(baseline, current, new DiffOptions()).Regressions);
    }

    /// <summary>The allowance checked against Poisson sampling simulated exactly as the collector
    /// samples (probability 1 − e^(−size/rate), weight size/p): two runs of the same program are
    /// rarely flagged, and a 20% growth of a large site is nearly always caught.</summary>
    [Fact]
    public void Simulated_sampling_same_program_is_not_flagged_and_a_large_growth_is()
    {
        const ulong rate = PoissonSampling.DefaultRateBytes;
        var random = new Random(7);
        int falseAlarms = 0, caught = 0;
        const int trials = 100;
        for (int t = 0; t < trials; t++)
        {
            var a = Simulate(random, rate, 1.0);
            var b = Simulate(random, rate, 1.0);
            var grown = Simulate(random, rate, 1.2);
            if (ProfileDiff.Compute(a, b, new DiffOptions()).Regressions.Any()) falseAlarms++;
            if (ProfileDiff.Compute(a, grown, new DiffOptions()).Regressions.Any(r => r.Key == "large")) caught++;
        }
        Assert.True(falseAlarms <= 1, $"{falseAlarms} of {trials} identical pairs flagged");
        Assert.True(caught >= 95, $"20% growth of 1.5 GiB caught in only {caught} of {trials}");
    }

    static RecordingFigures Simulate(Random random, ulong rate, double scale) => Run(rate,
        SampledSite(random, rate, "small", 64, (int)(100_000 * scale)),
        SampledSite(random, rate, "medium", 4096, (int)(10_000 * scale)),
        SampledSite(random, rate, "large", 1 << 20, (int)(1_500 * scale)));

    static SiteFigures SampledSite(Random random, ulong rate, string name, ulong size, int count)
    {
        double p = PoissonSampling.Probability(size, rate);
        long bytes = 0;
        double blocks = 0;
        long samples = 0;
        for (int i = 0; i < count; i++)
        {
            if (random.NextDouble() >= p) continue;
            ulong weight = PoissonSampling.Weight(size, rate);
            bytes += (long)weight;
            blocks += (double)weight / size;
            samples++;
        }
        return Site(name, null, bytes, blocks, bytes, bytes, blocks, samples);
    }
}
