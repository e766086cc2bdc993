using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Export;

/// <summary>
/// What the report's header says of the events beyond their metrics — frees without a recorded
/// allocation, blocks an exec released, stacks cut short, addresses reused while live — counted
/// in the same walk as the metrics (<see cref="HeapMetrics.Compute"/>'s alongside visitors).
/// </summary>
/// <param name="pid">Only this process, when given (the reused addresses count every process).</param>
sealed class ReportFacts(ProfileModel model, uint? pid) : PairedVisitor
{
    readonly HashSet<uint> _children = model.Processes.Where(p => p.ParentPid is not null).Select(p => p.Pid).ToHashSet();
    readonly Dictionary<StackId, bool> _truncated = [];

    /// <summary>Frees whose allocation is not in the recording: in the recorded command's own
    /// processes, and in child processes.</summary>
    public long UnpairedOwn, UnpairedInChildren;
    /// <summary>Every free without a recorded allocation, whatever the process.</summary>
    public long UnmatchedFrees;
    /// <summary>Allocations at the address of a block still live, whatever the process.</summary>
    public long ReusedLive;
    public long ExecReleasedBlocks, ExecReleasedBytes;
    public long WithStack, CutStacks;

    bool Shown(uint p) => pid is not { } only || p == only;

    public override void Alloc(EventChunk c, int i)
    {
        var stack = c.Stack[i];
        if (stack.IsNone || !Shown(c.Pid[i])) return;
        WithStack++;
        if (!_truncated.TryGetValue(stack, out bool cut)) _truncated[stack] = cut = model.Tables.IsTruncated(stack);
        if (cut) CutStacks++;
    }

    public override void Free(EventChunk c, int i, in LiveBlock? released)
    {
        if (released is not { } block)
        {
            UnmatchedFrees++;
            if (!Shown(c.Pid[i])) return;
            if (_children.Contains(c.Pid[i])) UnpairedInChildren++;
            else UnpairedOwn++;
            return;
        }
        if (c.Function[i] != AllocFunction.ExecRelease || !Shown(c.Pid[i])) return;
        ExecReleasedBlocks++;
        ExecReleasedBytes += (long)block.Weight;
    }

    public override void Reused(in LiveBlock old) => ReusedLive++;
}
