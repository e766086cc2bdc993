using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Recording;

public sealed class RawStackTableTests
{
    /// <summary>Stacks as a recorder makes them: leaf first, sharing callers, some ids far apart.</summary>
    static List<Stack> Stacks(int count, int seed)
    {
        var random = new Random(seed);
        var stacks = new List<Stack>();
        for (int s = 0; s < count; s++)
        {
            // Callers from a small set, so stacks share prefixes; a leaf of its own.
            int depth = random.Next(0, 12);
            var outermostFirst = Enumerable.Range(0, depth).Select(d => 0x1000UL * (ulong)d + (ulong)random.Next(3)).ToList();
            outermostFirst.Add(0x9000_0000UL + (ulong)random.Next(50));
            ulong id = s % 7 == 3 ? (1UL << 40) + (ulong)s : (ulong)s + 1;
            var stack = new Stack { Id = id, Truncated = random.Next(5) == 0 };
            stack.Addresses.AddRange(Enumerable.Reverse(outermostFirst));
            stacks.Add(stack);
        }
        return stacks;
    }

    [Fact]
    public void Every_stack_reads_back_leaf_first_with_its_flag()
    {
        var stacks = Stacks(2_000, 1);
        var table = RawStackTable.Of(stacks);
        Assert.Equal(stacks.Count, table.Count);
        Assert.Equal(stacks.Max(s => s.Id), table.MaxId);
        var buffer = new List<ulong>();
        foreach (var stack in stacks)
        {
            Assert.True(table.CopyLeafFirst(stack.Id, buffer, out bool truncated));
            Assert.Equal(stack.Addresses, buffer);
            Assert.Equal(stack.Truncated, truncated);
            Assert.Equal(stack, table[stack.Id]);
        }
        Assert.Equal(stacks.Select(s => s.Id).Order(), table.Keys.Order());
    }

    [Fact]
    public void Shared_callers_are_one_node_each()
    {
        var stacks = Stacks(2_000, 2);
        var table = RawStackTable.Of(stacks);
        // The distinct (caller chain, address) pairs: what a prefix tree must hold, no more.
        var prefixes = new HashSet<string>();
        foreach (var stack in stacks)
        {
            var outermostFirst = stack.Addresses.Reverse().ToList();
            for (int depth = 1; depth <= outermostFirst.Count; depth++) prefixes.Add(string.Join(",", outermostFirst.Take(depth)));
        }
        Assert.Equal(prefixes.Count, table.NodeCount);
        Assert.True(table.NodeCount < stacks.Sum(s => s.Addresses.Count) / 2);
    }

    [Fact]
    public void A_stack_added_again_replaces_the_one_before_and_adding_goes_on_after_trimming()
    {
        var table = new RawStackTable();
        table.Add(5, [1, 2, 3], truncated: false);
        table.Add(9, [1, 2, 4], truncated: true);
        table.TrimExcess();
        table.Add(5, [1, 7], truncated: true);
        table.Add(6, [1, 2, 4, 8], truncated: false);
        Assert.Equal(3, table.Count);
        Assert.Equal(new Stack { Id = 5, Truncated = true, Addresses = { 7, 1 } }, table[5]);
        Assert.Equal(new Stack { Id = 9, Truncated = true, Addresses = { 4, 2, 1 } }, table[9]);
        Assert.Equal(new Stack { Id = 6, Addresses = { 8, 4, 2, 1 } }, table[6]);
        // 1, 1→2, 1→2→3, 1→2→4, 1→7, 1→2→4→8: the trimmed index was rebuilt, not started afresh.
        Assert.Equal(6, table.NodeCount);
        Assert.False(table.ContainsKey(7));
        Assert.False(table.TryGetValue(0, out _));
    }

    [Fact]
    public void An_empty_stack_is_held_and_reads_back_empty()
    {
        var table = new RawStackTable();
        table.Add(3, [], truncated: true);
        var buffer = new List<ulong> { 42 };
        Assert.True(table.CopyLeafFirst(3, buffer, out bool truncated));
        Assert.Empty(buffer);
        Assert.True(truncated);
        Assert.Single(table);
    }
}
