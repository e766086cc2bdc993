using Profiler.Collectors.Linux.Ring;

namespace Profiler.Tests.Collector;

public sealed class RingStackNamesTests
{
    /// <summary>A name as a ring's writer makes it (memprof_ring.h): ring index + 1, count from 1.</summary>
    static ulong Name(uint ring, uint count) => (ulong)(ring + 1) << 32 | count;

    [Fact]
    public void A_name_gives_back_the_id_it_was_given_and_an_unnamed_one_none()
    {
        var names = new RingStackNames();
        names.Set(Name(0, 1), 7);
        names.Set(Name(3, 1), 0);
        Assert.True(names.TryGet(Name(0, 1), out ulong id));
        Assert.Equal(7UL, id);
        // A stack without frames has id 0: named all the same.
        Assert.True(names.TryGet(Name(3, 1), out id));
        Assert.Equal(0UL, id);
        Assert.False(names.TryGet(Name(0, 2), out _));
        Assert.False(names.TryGet(Name(1, 1), out _));
        Assert.False(names.TryGet(Name(200, 1 << 20), out _));
        Assert.Equal(2, names.Count);
    }

    [Fact]
    public void A_name_defined_again_takes_its_new_id_and_is_counted_once()
    {
        var names = new RingStackNames();
        names.Set(Name(0, 5), 1);
        names.Set(Name(0, 5), 9);
        Assert.True(names.TryGet(Name(0, 5), out ulong id));
        Assert.Equal(9UL, id);
        Assert.Equal(1, names.Count);
    }

    [Fact]
    public void Names_of_another_shape_are_kept_too()
    {
        var names = new RingStackNames();
        ulong[] odd = [0, 5, ulong.MaxValue, 0xffff_0000_0000_0001UL];
        for (int i = 0; i < odd.Length; i++) names.Set(odd[i], (ulong)i + 100);
        for (int i = 0; i < odd.Length; i++)
        {
            Assert.True(names.TryGet(odd[i], out ulong id));
            Assert.Equal((ulong)i + 100, id);
        }
        Assert.Equal(odd.Length, names.Count);
    }

    [Fact]
    public void A_million_names_over_many_rings_and_chunks_each_give_back_their_own_id()
    {
        var names = new RingStackNames();
        var expected = new Dictionary<ulong, ulong>();
        var random = new Random(12);
        ulong nextId = 1;
        var counts = new uint[64];
        // Interleaved rings, as threads name their stacks; a few counts skipped, one far ahead.
        for (int n = 0; n < 1_000_000; n++)
        {
            uint ring = (uint)random.Next(counts.Length);
            counts[ring] += random.Next(50) == 0 ? 2u : 1u;
            ulong name = Name(ring, counts[ring]);
            names.Set(name, nextId);
            expected[name] = nextId++;
        }
        names.Set(Name(7, 3_000_000), nextId);
        expected[Name(7, 3_000_000)] = nextId;
        Assert.Equal(expected.Count, names.Count);
        foreach (var (name, id) in expected)
        {
            Assert.True(names.TryGet(name, out ulong got), $"name {name:x} lost");
            Assert.Equal(id, got);
        }
        // The counts skipped were never named.
        int unnamed = 0;
        for (uint ring = 0; ring < counts.Length; ring++)
            for (uint count = 1; count <= counts[ring]; count++)
                if (!expected.ContainsKey(Name(ring, count)))
                {
                    Assert.False(names.TryGet(Name(ring, count), out _));
                    unnamed++;
                }
        Assert.True(unnamed > 10_000);
    }

    [Fact]
    public void Many_rings_naming_a_few_stacks_each_take_little_memory()
    {
        var names = new RingStackNames();
        names.Set(Name(0, 1), 1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (uint ring = 0; ring < 256; ring++)
            for (uint count = 1; count <= 3; count++) names.Set(Name(ring, count), ring * 3 + count);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // Whole 64 KiB chunks would be 16 MiB; small ones, ~256 × (512 B of ids + a chunk list).
        Assert.True(allocated < 512 * 1024, $"{allocated} bytes for 768 names");
        for (uint ring = 0; ring < 256; ring++)
            for (uint count = 1; count <= 3; count++)
            {
                Assert.True(names.TryGet(Name(ring, count), out ulong id));
                Assert.Equal(ring * 3 + count, id);
            }
        Assert.False(names.TryGet(Name(5, 65), out _));
        Assert.False(names.TryGet(Name(5, 9000), out _));
    }
}
