using Profiler.Core.Analysis;
using Profiler.Export.Checks;

namespace Profiler.Tests.Checks;

/// <summary>Hand-made site figures for the pure check tests.</summary>
static class Figures
{
    public static SiteFigures Site(string function, string? module, long allocated = 0, double blocks = 0,
        long peak = 0, long leaked = 0, double leakedBlocks = 0, long samples = 1, string? via = null) =>
        new(function, module, new AllocationMetrics() with
        {
            Samples = samples, AllocatedBytes = allocated, AllocatedBlocks = blocks, PeakBytes = peak,
            LeakedBytes = leaked, LeakedBlocks = leakedBlocks, RetainedBytes = leaked, RetainedBlocks = leakedBlocks,
        }, via);

    /// <summary>A test run: the program's leak, the harness's own buffers, and a parser churning through Vec::push.</summary>
    public static RecordingFigures TestRun(ulong rate = 1) => new(
    [
        Site("app::cache::leak_entry", "app", allocated: 40_960, blocks: 10, peak: 40_960, leaked: 40_960, leakedBlocks: 10),
        Site("test_harness::capture_output", "app", allocated: 2_000_000, blocks: 20, peak: 1_000_000, leaked: 100_000, leakedBlocks: 1),
        Site("app::parse::tokens", "app", allocated: 5_000_000, blocks: 50_000, peak: 200_000, via: "Vec::push"),
        Site("std::rt::lang_start", "libstd.so", allocated: 1_500, blocks: 3, peak: 1_500, leaked: 1_024, leakedBlocks: 1),
    ],
    PeakBytes: 1_300_000, PeakExact: true,
    Exact: new ExactHeapCounts(50_034, 7_042_460, 50_020, 6_900_000), SamplingRateBytes: rate);
}
