using System.Text.Json;

namespace Profiler.Integration.Tests;

/// <summary>The sample's own ground truth, from `allocs --manifest`.</summary>
sealed record ManifestSite(string Function, string[] Chain, string Api, long Allocations, long AllocatedBytes,
    long Frees, long FreedBytes, long LiveBlocksAtExit, long LiveBytesAtExit, long PeakBytes, string Thread);

static class Manifest
{
    /// <param name="mode">A mode with its own manifest (`allocs --manifest MODE`), or the default run.</param>
    public static IReadOnlyList<ManifestSite> Read(string sample, string? mode = null) =>
        ReadFor(sample, mode is null ? [] : [mode]);

    /// <summary>The manifest of the run with these arguments (`SAMPLE --manifest ARGS…`).</summary>
    public static IReadOnlyList<ManifestSite> ReadFor(string sample, params string[] arguments)
    {
        string json = ProcessRunner.RunChecked(sample, ["--manifest", .. arguments]).Stdout;
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("sites").EnumerateArray().Select(s => new ManifestSite(
            s.GetProperty("function").GetString()!,
            s.GetProperty("chain").EnumerateArray().Select(c => c.GetString()!).ToArray(),
            s.GetProperty("api").GetString()!,
            s.GetProperty("allocations").GetInt64(),
            s.GetProperty("allocated_bytes").GetInt64(),
            s.GetProperty("frees").GetInt64(),
            s.GetProperty("freed_bytes").GetInt64(),
            s.GetProperty("live_blocks_at_exit").GetInt64(),
            s.GetProperty("live_bytes_at_exit").GetInt64(),
            s.GetProperty("peak_bytes").GetInt64(),
            s.GetProperty("thread").GetString()!)).ToList();
    }
}
