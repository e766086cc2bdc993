using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>Blocks of at least the sampling rate are always sampled and weigh their own size, on
/// both sampling paths, at the default rate: a leak of three 1,000,000-byte blocks is 3,000,000 B,
/// not the Poisson estimate of it (3,523,086 B).</summary>
public sealed class LargeBlockTests
{
    [Theory]
    [InlineData("preload")]
    [InlineData("probe")]
    public void Large_blocks_are_recorded_exactly_at_the_default_rate(string mode)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-nofp");
        var manifest = Manifest.Read(sample, "large");
        var dir = Directory.CreateTempSubdirectory("memprof-large");
        var output = Path.Combine(dir.FullName, "large.memprof");
        var result = CliRunner.Run("record", "--mode", mode, "--no-firefox", "-o", output, "--", sample, "large");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var model = RecordingLoader.Load(output, TextWriter.Null);
        dir.Delete(recursive: true);

        var problems = new List<string>();
        foreach (var site in manifest.Where(s => s.Api == "malloc"))
        {
            var blocks = MallocsOf(model, site.Function);
            long allocated = blocks.Sum(i => (long)model.Events.Weight[i]);
            long sizes = blocks.Sum(i => (long)model.Events.Size[i]);
            if (blocks.Count != site.Allocations || allocated != site.AllocatedBytes || sizes != site.AllocatedBytes)
                problems.Add($"{site.Function}: {blocks.Count} mallocs weighing {allocated:N0} B (sizes {sizes:N0} B), " +
                             $"expected {site.Allocations} weighing {site.AllocatedBytes:N0} B");
        }
        var totals = SiteTotals.Of(model);
        var leak = manifest.Single(s => s.Function.EndsWith("large_leak", StringComparison.Ordinal));
        Assert.Equal(3_000_000, leak.LiveBytesAtExit);
        if (totals.GetValueOrDefault(leak.Function)?.RetainedBytes != leak.LiveBytesAtExit)
            problems.Add($"{leak.Function}: retained {totals.GetValueOrDefault(leak.Function)?.RetainedBytes:N0} B, expected {leak.LiveBytesAtExit:N0} B");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    static List<int> MallocsOf(ProfileModel model, string function)
    {
        var ev = model.Events;
        var found = new List<int>();
        for (int i = 0; i < ev.Count; i++)
            if (ev.Kind[i] == EventKind.Alloc && ev.Function[i] == AllocFunction.Malloc &&
                SiteAnalysis.SiteOf(model.Tables, ev.Stack[i]) is { } f && model.Tables.Function(f).Name == function)
                found.Add(i);
        return found;
    }
}
