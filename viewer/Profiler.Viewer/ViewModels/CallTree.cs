using Profiler.Core.Analysis;
using Profiler.Core.Model;

namespace Profiler.Viewer.ViewModels;

/// <summary>A node of the call tree merged by function: its totals include the calls below it,
/// its self values are the allocations made with it as the innermost frame.</summary>
public sealed class CallTreeNode(FunctionId? function, string name, string? module, CallTreeNode? parent)
{
    public FunctionId? Function { get; } = function;
    public string Name { get; } = name;
    public string? Module { get; } = module;
    public CallTreeNode? Parent { get; } = parent;
    public AllocationMetrics Total;
    public AllocationMetrics Self;
    public List<CallTreeNode> Children { get; } = [];
    public int Depth => Parent is null ? -1 : Parent.Depth + 1;

    internal CallTreeNode Child(FunctionId? id, Func<(string Name, string? Module)> describe)
    {
        foreach (var c in Children)
            if (c.Function == id) return c;
        var (n, m) = describe();
        var node = new CallTreeNode(id, n, m, this);
        Children.Add(node);
        return node;
    }
}

/// <summary>
/// Builds call trees from the per-stack metrics of <see cref="HeapMetrics.ByStack"/>: each stack's
/// metrics are added along its path, so a node's total is the sum of the stacks through it — the
/// same sums as <see cref="HeapMetrics.CallTree"/>, merged by function instead of by frame.
/// </summary>
public static class CallTree
{
    /// <param name="inverted">Bottom-up: roots are the innermost (allocating) functions.</param>
    public static CallTreeNode Build(CallTreeTables tables, IReadOnlyDictionary<StackId, AllocationMetrics> byStack, bool inverted)
    {
        var root = new CallTreeNode(null, "(all)", null, null);
        var path = new List<FrameId>();
        foreach (var (stack, metrics) in byStack)
        {
            root.Total += metrics;
            if (stack.IsNone)
            {
                var none = root.Child(null, () => (FunctionMetrics.NoStack, null));
                none.Total += metrics;
                none.Self += metrics;
                continue;
            }
            path.Clear();
            path.AddRange(tables.FramesLeafFirst(stack));
            if (!inverted) path.Reverse();
            var node = root;
            foreach (var frame in path)
            {
                var function = tables.Frame(frame).Function;
                node = node.Child(function, () => Describe(tables, function));
                node.Total += metrics;
            }
            // Top-down the last node is the leaf; bottom-up the leaf is the first, a root.
            var leaf = inverted ? root.Child(tables.Frame(path[0]).Function, () => ("", null)) : node;
            leaf.Self += metrics;
        }
        return root;
    }

    static (string, string?) Describe(CallTreeTables tables, FunctionId id)
    {
        var f = tables.Function(id);
        return (f.Name, f.Module is { } m ? tables.Module(m).Name : null);
    }
}
