using System.IO.Compression;
using System.Text.Json;
using Profiler.Core.Analysis;
using Profiler.Firefox;
using Profiler.Tests.Firefox;

namespace Profiler.Integration.Tests;

/// <summary>The Firefox profile `record` wrote for allocs-fp, read back three ways.</summary>
public sealed class FirefoxOutputTests(AllocsRecordingFixture fixture) : IClassFixture<AllocsRecordingFixture>
{
    JsonDocument Profile()
    {
        using var gz = new GZipStream(File.OpenRead(fixture.Firefox), CompressionMode.Decompress);
        return JsonDocument.Parse(gz);
    }

    [Fact]
    public void The_profile_passes_the_structural_checks()
    {
        using var doc = Profile();
        Assert.Empty(ProfileValidator.Validate(doc));
    }

    [Fact]
    public void The_Firefox_Profilers_own_loader_finds_the_recorded_retained_and_allocated_bytes()
    {
        var heap = HeapAnalysis.Compute(fixture.Model);
        var loaded = FirefoxLoader.Run(fixture.Firefox);
        Assert.Equal(heap.Totals.LiveBytes, loaded.RetainedBytes);
        Assert.Equal(heap.Totals.AllocatedBytes, loaded.AllocatedBytes);
    }

    [Fact]
    public void Each_manifest_sites_retained_bytes_sit_under_its_function_in_the_profile()
    {
        using var doc = Profile();
        var shared = doc.RootElement.GetProperty("shared");
        var strings = shared.GetProperty("stringArray").EnumerateArray().Select(s => s.GetString()!).ToArray();
        var funcName = Ints(shared.GetProperty("funcTable"), "name");
        var frameFunc = Ints(shared.GetProperty("frameTable"), "func");
        var stackFrame = Ints(shared.GetProperty("stackTable"), "frame");
        var stackPrefix = Ints(shared.GetProperty("stackTable"), "prefixOffset");
        var thread = doc.RootElement.GetProperty("threads").EnumerateArray().Single(t => t.TryGetProperty("nativeAllocations", out _));
        var allocs = thread.GetProperty("nativeAllocations");
        var weights = allocs.GetProperty("weight").EnumerateArray().Select(w => w.GetInt64()).ToArray();
        var stacks = allocs.GetProperty("stack").EnumerateArray().Select(s => s.GetInt32()).ToArray();
        var addresses = allocs.GetProperty("memoryAddress").EnumerateArray().Select(a => a.GetUInt64()).ToArray();

        // Retained: allocations with no later free at the same address.
        var lastAlloc = new Dictionary<ulong, int>();
        for (int i = 0; i < weights.Length; i++)
            if (weights[i] > 0) lastAlloc[addresses[i]] = i; else lastAlloc.Remove(addresses[i]);
        var retainedByFunction = new Dictionary<string, long>();
        foreach (var i in lastAlloc.Values)
        {
            var seen = new HashSet<string>();
            for (int s = stacks[i]; ; s -= stackPrefix[s])
            {
                var name = strings[funcName[frameFunc[stackFrame[s]]]];
                if (seen.Add(name)) retainedByFunction[name] = retainedByFunction.GetValueOrDefault(name) + weights[i];
                if (stackPrefix[s] == 0) break;
            }
        }
        foreach (var site in fixture.Manifest.GroupBy(s => s.Function))
            Assert.Equal(site.Sum(s => s.LiveBytesAtExit), retainedByFunction.GetValueOrDefault(site.Key));
        Assert.Equal("allocs-fp", thread.GetProperty("processName").GetString());
        Assert.IsType<string>(thread.GetProperty("pid").GetString());
    }

    static int[] Ints(JsonElement table, string column) =>
        table.GetProperty(column).EnumerateArray().Select(v => v.GetInt32()).ToArray();
}
