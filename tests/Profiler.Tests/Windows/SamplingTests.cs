using Profiler.Collectors.HeapTrace;
using Xunit.Abstractions;
using static Profiler.Tests.Windows.HeapTraceHarness;

namespace Profiler.Tests.Windows;

/// <summary>
/// Consumer-side Poisson sampling: every call arrives, only samples are written, with weights.
/// Estimates from the written recording are compared with the exact sums of the synthetic calls.
/// </summary>
public sealed class SamplingTests(ITestOutputHelper output)
{
    sealed record Site(string Function, double ByteShare, Func<Random, ulong> Size);

    static readonly Site[] Sites =
    [
        new("allocs::site_tiny", 0.07, r => (ulong)r.Next(16, 129)),
        new("allocs::site_small", 0.10, r => (ulong)r.Next(256, 2049)),
        new("allocs::site_medium", 0.19, r => (ulong)r.Next(4096, 16385)),
        new("allocs::site_page", 0.15, _ => 65536),
        new("allocs::site_large", 0.27, r => (ulong)r.Next(256 << 10, (2 << 20) + 1)),
        new("allocs::site_mixed", 0.20, r => 8 + (ulong)Math.Exp(r.NextDouble() * Math.Log(512 << 10))),
        new("allocs::site_rare", 0.02, r => (ulong)r.Next(100, 300_000)),
    ];

    sealed record Truth(Dictionary<string, ulong> AllocatedBySite, ulong Allocated, ulong Retained, ulong Allocations, ulong Frees);

    /// <summary>Allocations from the sites above until <paramref name="totalBytes"/>; after each,
    /// a random live block is freed with probability one half.</summary>
    static (List<TraceRecord> Records, Truth Truth) Generate(int seed, ulong totalBytes)
    {
        var random = new Random(seed);
        var meanSize = Sites.Select(s => Enumerable.Range(0, 20_000).Average(_ => (double)s.Size(random))).ToArray();
        var pick = Sites.Select((s, i) => s.ByteShare / meanSize[i]).ToArray();
        double pickTotal = pick.Sum();
        var stacks = Sites.Select(s => FakeSymbols.Stack(s.Function, "allocs::main")).ToArray();

        var records = new List<TraceRecord> { ExeImage() };
        var live = new List<(ulong Address, ulong Size)>();
        var bySite = Sites.ToDictionary(s => s.Function, _ => 0UL);
        ulong allocated = 0, freed = 0, address = 0x1_0000_0000, allocations = 0, frees = 0;
        long time = 1_000;
        while (allocated < totalBytes)
        {
            double u = random.NextDouble() * pickTotal;
            int site = 0;
            while (site < Sites.Length - 1 && (u -= pick[site]) > 0) site++;
            ulong size = Sites[site].Size(random);
            address += (size + 31) & ~15UL;
            records.Add(new HeapAlloc(time += 1_000, Pid, MainTid, Heap, address, size, stacks[site]));
            live.Add((address, size));
            bySite[Sites[site].Function] += size;
            allocated += size;
            allocations++;
            if (random.Next(2) == 0)
            {
                int k = random.Next(live.Count);
                var victim = live[k];
                live[k] = live[^1];
                live.RemoveAt(live.Count - 1);
                records.Add(new HeapFree(time += 1_000, Pid, MainTid, Heap, victim.Address));
                freed += victim.Size;
                frees++;
            }
        }
        return (records, new Truth(bySite, allocated, allocated - freed, allocations, frees));
    }

    /// <summary>What the recording estimates: allocated bytes per site (named by the innermost
    /// frame of <see cref="FakeSymbols"/> that is a site), in total, and still live at the end.</summary>
    static (Dictionary<string, double> BySite, double Allocated, double Retained) Estimates(TraceRun run)
    {
        var r = run.Recording;
        var ev = r.Events;
        var bySite = new Dictionary<string, double>();
        var live = new Dictionary<ulong, ulong>();
        double allocated = 0;
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] == EventKind.Free) { Assert.True(live.Remove(ev.Address[i])); continue; }
            live.Add(ev.Address[i], ev.Weight[i]);
            allocated += ev.Weight[i];
            string site = r.Stacks[ev.StackId[i]].Addresses.Select(a => FakeSymbols.NameOf(a)).First(n => n.StartsWith("allocs::site_"));
            bySite[site] = bySite.GetValueOrDefault(site) + ev.Weight[i];
        }
        return (bySite, allocated, live.Values.Sum(w => (double)w));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void At_64_KiB_over_a_GiB_the_estimates_are_within_3_percent_overall_and_10_percent_per_big_site(int seed)
    {
        var (records, truth) = Generate(seed, 1UL << 30);
        var options = Options(rate: 64 * 1024, windowMs: 1) with { Random = new Random(seed + 100) };
        var run = Run(records, options);
        var (bySite, allocated, retained) = Estimates(run);

        output.WriteLine($"{truth.Allocations:N0} allocations, {truth.Allocated:N0} bytes; {run.Summary.SampledAllocations:N0} sampled; " +
            $"allocated estimate {allocated / truth.Allocated:P2}, retained estimate {retained / truth.Retained:P2}; per site: " +
            string.Join(", ", truth.AllocatedBySite.Select(kv => $"{kv.Key} {(double)kv.Value / truth.Allocated:P1} of bytes, estimate {bySite.GetValueOrDefault(kv.Key) / kv.Value:P1}")));
        Assert.True(truth.Allocated >= 1UL << 30);
        Assert.InRange(allocated / truth.Allocated, 0.97, 1.03);
        Assert.InRange(retained / truth.Retained, 0.95, 1.05);
        int checkedSites = 0;
        foreach (var (function, bytes) in truth.AllocatedBySite.Where(s => s.Value >= truth.Allocated / 20))
        {
            double ratio = bySite[function] / bytes;
            Assert.True(ratio is >= 0.90 and <= 1.10, $"{function}: estimated {bySite[function]:N0} of {bytes:N0} bytes ({ratio:P1})");
            checkedSites++;
        }
        Assert.Equal(6, checkedSites);
        // Only a small part of the calls is written, yet the exact totals cover every call.
        Assert.True(run.Summary.SampledAllocations < (long)truth.Allocations / 20, $"{run.Summary.SampledAllocations:N0} of {truth.Allocations:N0} sampled");
        var c = run.FinalCounters;
        Assert.Equal((truth.Allocations, truth.Allocated, truth.Frees, truth.Allocated - truth.Retained, (long)truth.Retained),
            (c.Allocations, c.AllocatedBytes, c.Frees, c.FreedBytes, c.LiveBytes));
    }

    [Fact]
    public void At_rate_1_every_call_is_written_and_every_total_is_exact()
    {
        var (records, truth) = Generate(seed: 5, totalBytes: 64UL << 20);
        var run = Run(records, Options(rate: 1, windowMs: 1));
        var (bySite, allocated, retained) = Estimates(run);

        Assert.Equal((long)(truth.Allocations + truth.Frees), run.Recording.Events.Count);
        Assert.Equal(truth.Allocated, allocated);
        Assert.Equal(truth.Retained, retained);
        foreach (var (function, bytes) in truth.AllocatedBySite.Where(s => s.Value > 0))
            Assert.Equal(bytes, bySite[function]);
    }
}
