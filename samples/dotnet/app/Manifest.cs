using System.Text.Json;

namespace DotnetSample;

/// <summary>Ground truth of one run of the workload's native side, in the JSON shape of the Rust
/// samples' `--manifest`: per Rust function (the site), its libc calls, and the C# method that
/// calls it. Computed from the constants the workload uses; the Rust functions make exactly one
/// malloc per block (and one free per freed block).</summary>
static class Manifest
{
    const string Caller = "DotnetSample.NativeWork.";

    public static string Json()
    {
        object Site(string function, string caller, long allocations, long size, long frees, long peakBlocks) => new Dictionary<string, object>
        {
            ["function"] = function,
            ["chain"] = new[] { "DotnetSample.Workload.Run(System.IO.TextWriter)", Caller + caller, function },
            ["api"] = "malloc",
            ["allocations"] = allocations,
            ["allocated_bytes"] = allocations * size,
            ["frees"] = frees,
            ["freed_bytes"] = frees * size,
            ["live_blocks_at_exit"] = allocations - frees,
            ["live_bytes_at_exit"] = (allocations - frees) * size,
            ["peak_bytes"] = peakBlocks * size,
            ["thread"] = "main",
        };
        var sites = new[]
        {
            Site("rustlib_leak", "LeakThroughRust()", Workload.LeakCount, Workload.LeakSize, 0, Workload.LeakCount),
            Site("rustlib_churn", "ChurnThroughRust(int32)", Workload.ChurnRounds, Workload.ChurnSize, Workload.ChurnRounds, 1),
            Site("rustlib_peak", "PeakThroughRust()", Workload.PeakCount, Workload.PeakSize, Workload.PeakCount, Workload.PeakCount),
        };
        var managed = new Dictionary<string, object>
        {
            ["retained_bytes_at_least"] = (long)Workload.ManagedArrays * Workload.ManagedArraySize,
        };
        return JsonSerializer.Serialize(new Dictionary<string, object> { ["sites"] = sites, ["managed"] = managed }) + "\n";
    }
}
