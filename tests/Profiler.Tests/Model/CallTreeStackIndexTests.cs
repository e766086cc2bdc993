using Profiler.Core.Model;

namespace Profiler.Tests.Model;

public sealed class CallTreeStackIndexTests
{
    [Fact]
    public void The_same_frame_under_the_same_parent_is_one_node_numbered_as_first_interned()
    {
        var tables = new CallTreeTables();
        var oracle = new Dictionary<(int Frame, int Parent), int>();
        var random = new Random(3);
        var interned = new List<StackId> { StackId.None };
        // Enough nodes that the index grows several times.
        for (int i = 0; i < 20_000; i++)
        {
            var parent = interned[random.Next(interned.Count)];
            var frame = new FrameId(random.Next(40));
            var id = tables.InternStack(parent, frame);
            if (!oracle.TryGetValue((frame.Index, parent.Index), out int expected)) oracle[(frame.Index, parent.Index)] = expected = oracle.Count;
            Assert.Equal(expected, id.Index);
            Assert.Equal(new StackNode(frame, parent), tables.Stack(id));
            interned.Add(id);
        }
        Assert.Equal(oracle.Count, tables.Stacks.Count);
        var deepest = interned[^1];
        var leafFirst = tables.FramesLeafFirst(deepest).ToList();
        Assert.Equal(tables.Stack(deepest).Frame, leafFirst[0]);
        int depth = 0;
        for (var s = deepest; !s.IsNone; s = tables.Stack(s).Parent) depth++;
        Assert.Equal(depth, leafFirst.Count);
    }
}
