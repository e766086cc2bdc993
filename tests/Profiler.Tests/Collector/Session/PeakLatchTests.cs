using Profiler.Collectors.Linux.Session;

namespace Profiler.Tests.Collector.Session;

/// <summary>The peak memprof records from the sampler's counters, read one snapshot at a time.</summary>
public sealed class PeakLatchTests
{
    [Fact]
    public void A_new_peak_read_with_the_previous_peaks_time_takes_its_true_time_on_the_next_read()
    {
        // The previous peak: 700 bytes at 100. The library then stores 900 and, a moment later, its
        // time 500: the first read falls between the two stores.
        var peak = PeakLatch.After((0, 0), 700, 100, live: 650, now: 150);
        peak = PeakLatch.After(peak, 900, 100, live: 880, now: 510);
        Assert.Equal((900L, 100L), peak);

        peak = PeakLatch.After(peak, 900, 500, live: 300, now: 600);

        Assert.Equal((900L, 500L), peak);
    }

    [Fact]
    public void A_peak_read_again_unchanged_keeps_its_time()
    {
        var peak = PeakLatch.After((0, 0), 900, 500, live: 300, now: 600);

        Assert.Equal((900L, 500L), PeakLatch.After(peak, 900, 500, live: 200, now: 700));
        Assert.Equal((900L, 500L), PeakLatch.After(peak, 800, 650, live: 200, now: 700));
    }

    [Fact]
    public void A_live_figure_above_the_librarys_peak_is_the_peak_at_the_read()
    {
        Assert.Equal((1000L, 700L), PeakLatch.After((900, 500), 900, 500, live: 1000, now: 700));
        Assert.Equal((1000L, 700L), PeakLatch.After((900, 500), 950, null, live: 1000, now: 700));
        Assert.Equal((900L, 500L), PeakLatch.After((900, 500), 950, null, live: 100, now: 700));
    }
}
