using System.Diagnostics;
using System.Text.Json;

namespace Profiler.Integration.Tests;

/// <summary>The sample's own ground truth, from `allocs --manifest`.</summary>
sealed record ManifestSite(string Function, string[] Chain, string Api, long Allocations, long AllocatedBytes,
    long Frees, long FreedBytes, long LiveBlocksAtExit, long LiveBytesAtExit, long PeakBytes, string Thread);

static class Manifest
{
    public static IReadOnlyList<ManifestSite> Read(string sample)
    {
        var psi = new ProcessStartInfo(sample, "--manifest") { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        string json = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
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
