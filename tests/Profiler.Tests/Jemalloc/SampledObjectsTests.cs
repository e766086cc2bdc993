using Profiler.Collectors.Linux.Jemalloc;

namespace Profiler.Tests.Jemalloc;

/// <summary>SampledObjects against a model of jemalloc 5.3.0's sampled path: the model knows which
/// objects are really live and makes the calls memprof probes in jemalloc's own order
/// (prof_realloc: prof_malloc_sample_object of the new object, then prof_free_sampled_object of the
/// old one, without a pointer). What memprof records must keep the same live stacks and sizes.</summary>
public sealed class SampledObjectsTests
{
    const uint Pid = 7, Tid = 8;

    /// <summary>What memprof writes, replayed by address as the analysis pairs frees with allocations.</summary>
    sealed class Recording
    {
        readonly Dictionary<ulong, (ulong Tctx, ulong Size)> _live = [];
        public readonly List<string> Problems = [];
        public readonly SampledObjects Objects = new();

        public void Malloc(ulong tctx, ulong size, ulong address)
        {
            if (Objects.Add(Pid, Tid, tctx, size, address) is { } replaced) Free(replaced);
            if (!_live.TryAdd(address, (tctx, size))) Problems.Add($"allocation at live {address:x}");
        }

        public void FreeSampled(ulong tctx, ulong size)
        {
            if (Objects.Remove(Pid, Tid, tctx, size, 0) is { } freed) Free(freed);
        }

        void Free(ulong address)
        {
            if (!_live.Remove(address)) Problems.Add($"free of {address:x}, not live");
        }

        public List<(ulong, ulong)> LiveSites() => [.. _live.Values.Select(v => (v.Tctx, v.Size)).Order()];
    }

    [Fact]
    public void A_sampled_block_grown_in_place_is_freed_before_its_new_sample()
    {
        var r = new Recording();
        r.Malloc(tctx: 1, size: 32768, address: 0x1000);
        // rallocx(0x1000, 65536) stayed at 0x1000 and sampled again (another call site: tctx 2).
        r.Malloc(tctx: 2, size: 65536, address: 0x1000);
        r.FreeSampled(tctx: 1, size: 32768);
        Assert.Empty(r.Problems);
        Assert.Equal([(2UL, 65536UL)], r.LiveSites());
        Assert.Equal(1, r.Objects.Count);
        r.FreeSampled(tctx: 2, size: 65536);
        Assert.Empty(r.Problems);
        Assert.Empty(r.LiveSites());
    }

    [Fact]
    public void The_free_recorded_ahead_is_skipped_only_when_it_comes_next()
    {
        var r = new Recording();
        r.Malloc(1, 100, 0x1000);
        r.Malloc(1, 100, 0x2000);
        r.Malloc(1, 200, 0x1000); // grown in place; prof_realloc's free of (1, 100) comes next
        r.FreeSampled(1, 100);    // that free: already recorded
        Assert.Equal([(1UL, 100UL), (1UL, 200UL)], r.LiveSites());
        r.FreeSampled(1, 100);    // a later, real free of the other block
        Assert.Equal([(1UL, 200UL)], r.LiveSites());
        Assert.Empty(r.Problems);
    }

    [Fact]
    public void A_free_with_a_pointer_removes_that_block()
    {
        var objects = new SampledObjects();
        objects.Add(Pid, Tid, 1, 100, 0x1000);
        objects.Add(Pid, Tid, 1, 100, 0x2000);
        Assert.Equal(0x1000UL, objects.Remove(Pid, Tid, 1, 100, 0x1000));
        Assert.Null(objects.Remove(Pid, Tid, 1, 100, 0x1000));
        Assert.Equal(0x2000UL, objects.Remove(Pid, Tid, 1, 100, 0));
        Assert.Null(objects.Remove(Pid, Tid, 1, 100, 0)); // sampled before recording began
    }

    /// <summary>Random mallocs, frees and reallocs (moved or in place, each side sampled or not).
    /// With a context per object (no two live samples share a backtrace and size), the free jemalloc
    /// reports always finds its own object, so after every call the recording's live (tctx, size)
    /// multiset must be exactly jemalloc's. With few contexts, a free without a pointer may take a
    /// twin's address, and a later in-place realloc of that twin is only recognized approximately:
    /// the recording may then show a twin freed early for a while, but never a sample live that
    /// jemalloc freed, and nothing once everything is freed.</summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    public void The_recording_keeps_the_live_sampled_stacks_and_sizes_of_jemalloc(int seed, bool fewContexts)
    {
        var random = new Random(seed);
        var r = new Recording();
        var truth = new List<(ulong Address, ulong Tctx, ulong Size, bool Sampled)>();
        ulong nextAddress = 0x10000;
        int inPlaceBothSampled = 0;
        for (int step = 0; step < 20_000; step++)
        {
            int op = random.Next(3);
            ulong tctx = fewContexts ? (ulong)random.Next(1, 4) : (ulong)step + 1, size = 1UL << random.Next(12, 15);
            bool sampled = random.Next(3) == 0;
            if (op == 0 || truth.Count == 0)
            {
                ulong address = nextAddress += 0x100;
                truth.Add((address, tctx, size, sampled));
                if (sampled) r.Malloc(tctx, size, address);
            }
            else
            {
                int index = random.Next(truth.Count);
                var old = truth[index];
                truth.RemoveAt(index);
                if (op == 1)
                {
                    if (old.Sampled) r.FreeSampled(old.Tctx, old.Size);
                }
                else
                {
                    ulong address = random.Next(2) == 0 ? old.Address : nextAddress += 0x100;
                    if (address == old.Address && sampled && old.Sampled) inPlaceBothSampled++;
                    truth.Add((address, tctx, size, sampled));
                    if (sampled) r.Malloc(tctx, size, address);
                    if (old.Sampled) r.FreeSampled(old.Tctx, old.Size);
                }
            }
            var expected = LiveSamples(truth);
            var recorded = r.LiveSites();
            if (fewContexts)
                Assert.True(IsSubMultiset(recorded, expected), $"step {step}: the recording has samples live that jemalloc freed");
            else
                Assert.True(expected.SequenceEqual(recorded), $"step {step}: live samples differ from jemalloc's");
        }
        while (truth.Count > 0)
        {
            var old = truth[^1];
            truth.RemoveAt(truth.Count - 1);
            if (old.Sampled) r.FreeSampled(old.Tctx, old.Size);
        }
        Assert.Empty(r.LiveSites());
        Assert.True(inPlaceBothSampled > 100, $"only {inPlaceBothSampled} in-place reallocs of sampled blocks");
        Assert.Empty(r.Problems);
    }

    static List<(ulong, ulong)> LiveSamples(IEnumerable<(ulong Address, ulong Tctx, ulong Size, bool Sampled)> truth) =>
        [.. truth.Where(t => t.Sampled).Select(t => (t.Tctx, t.Size)).Order()];

    static bool IsSubMultiset(List<(ulong, ulong)> part, List<(ulong, ulong)> whole)
    {
        var counts = whole.CountBy(x => x).ToDictionary();
        foreach (var x in part)
            if (!counts.TryGetValue(x, out int n) || n == 0) return false;
            else counts[x] = n - 1;
        return true;
    }
}
