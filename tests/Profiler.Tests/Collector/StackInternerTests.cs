using Profiler.Collectors.Linux;

namespace Profiler.Tests.Collector;

public sealed class StackInternerTests
{
    [Fact]
    public void The_same_frames_get_the_same_id_and_only_their_first_sight_is_new()
    {
        var stacks = new StackInterner();
        ulong first = stacks.Intern([0x401000, 0x402000, 0x403000], out bool isNew);
        Assert.True(isNew);
        Assert.Equal(1UL, first);
        ulong again = stacks.Intern(new ulong[] { 0x401000, 0x402000, 0x403000 }, out isNew);
        Assert.False(isNew);
        Assert.Equal(first, again);
        Assert.Equal(1, stacks.Count);
    }

    [Fact]
    public void Stacks_that_differ_in_order_length_or_one_frame_are_distinct()
    {
        var stacks = new StackInterner();
        ulong[][] distinct =
        [
            [],
            [0x10],
            [0x10, 0x20],
            [0x20, 0x10],
            [0x10, 0x20, 0],
            [0x10, 0x20, 0x30],
            [0x10, 0x21, 0x30],
            [0x10 + (1UL << 63), 0x20, 0x30],
        ];
        var ids = distinct.Select(frames => stacks.Intern(frames, out bool isNew) is var id && isNew ? id : 0).ToList();
        Assert.Equal(Enumerable.Range(1, distinct.Length).Select(i => (ulong)i), ids);
        // Each is still found as itself afterwards.
        for (int i = 0; i < distinct.Length; i++)
        {
            Assert.Equal(ids[i], stacks.Intern(distinct[i], out bool isNew));
            Assert.False(isNew);
        }
    }

    [Fact]
    public void A_million_deep_stacks_sharing_their_callers_get_a_million_ids()
    {
        // Deep stacks that differ only in their innermost frames, as a recursive program's do.
        var stacks = new StackInterner();
        var frames = new ulong[40];
        for (int i = 0; i < frames.Length; i++) frames[i] = 0x5555_5555_0000UL + (ulong)i * 0x40;
        for (int n = 0; n < 1_000_000; n++)
        {
            frames[0] = 0x7f00_0000_0000UL + (ulong)(n & 0xfff) * 8;
            frames[1] = 0x7f00_1000_0000UL + (ulong)(n >> 12) * 8;
            stacks.Intern(frames, out bool isNew);
            Assert.True(isNew, $"stack {n} was taken for an earlier one");
        }
        Assert.Equal(1_000_000, stacks.Count);
    }

    [Fact]
    public void Every_stack_keeps_its_id_as_the_table_grows()
    {
        var stacks = new StackInterner();
        var ids = new List<ulong>();
        for (ulong n = 0; n < 200_000; n++)
        {
            ids.Add(stacks.Intern([0x401000, n, n * 31], out bool isNew));
            Assert.True(isNew);
        }
        Assert.Equal(ids.Count, ids.Distinct().Count());
        for (ulong n = 0; n < 200_000; n++)
        {
            Assert.Equal(ids[(int)n], stacks.Intern([0x401000, n, n * 31], out bool isNew));
            Assert.False(isNew);
        }
        Assert.Equal(200_000, stacks.Count);
    }
}
