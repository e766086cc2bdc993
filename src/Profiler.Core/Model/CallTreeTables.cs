namespace Profiler.Core.Model;

/// <summary>Interning tables for modules, functions, frames and the stack prefix tree.</summary>
public sealed class CallTreeTables
{
    readonly List<ModuleInfo> _modules = [];
    readonly List<FunctionInfo> _functions = [];
    readonly List<FrameInfo> _frames = [];
    readonly List<StackNode> _stacks = [];
    readonly Dictionary<(string, string), ModuleId> _moduleIndex = [];
    readonly Dictionary<(string, int), FunctionId> _functionIndex = [];
    readonly Dictionary<(int, ulong, int), FrameId> _frameIndex = [];
    readonly StackNodeIndex _stackIndex;

    public CallTreeTables() => _stackIndex = new StackNodeIndex(_stacks);

    public IReadOnlyList<ModuleInfo> Modules => _modules;
    public IReadOnlyList<FunctionInfo> Functions => _functions;
    public IReadOnlyList<FrameInfo> Frames => _frames;
    public IReadOnlyList<StackNode> Stacks => _stacks;

    public ModuleInfo Module(ModuleId id) => _modules[id.Index];
    public FunctionInfo Function(FunctionId id) => _functions[id.Index];
    public FrameInfo Frame(FrameId id) => _frames[id.Index];
    public StackNode Stack(StackId id) => _stacks[id.Index];

    public ModuleId InternModule(string path, string buildId)
    {
        if (_moduleIndex.TryGetValue((path, buildId), out var id)) return id;
        id = new ModuleId(_modules.Count);
        _modules.Add(new ModuleInfo(path, buildId));
        _moduleIndex[(path, buildId)] = id;
        return id;
    }

    public FunctionId InternFunction(string name, ModuleId? module, string? file, int? line)
    {
        var key = (name, module?.Index ?? -1);
        if (_functionIndex.TryGetValue(key, out var id)) return id;
        id = new FunctionId(_functions.Count);
        _functions.Add(new FunctionInfo(name, module, file, line));
        _functionIndex[key] = id;
        return id;
    }

    public FrameId InternFrame(FunctionId function, ModuleId? module, ulong address, int? line, int inlineDepth)
    {
        var key = (module?.Index ?? -1, address, inlineDepth);
        if (_frameIndex.TryGetValue(key, out var id)) return id;
        id = new FrameId(_frames.Count);
        _frames.Add(new FrameInfo(function, module, address, line, inlineDepth));
        _frameIndex[key] = id;
        return id;
    }

    public StackId InternStack(StackId parent, FrameId frame)
    {
        var node = new StackNode(frame, parent);
        if (_stackIndex.TryFind(node, out var id)) return id;
        id = new StackId(_stacks.Count);
        _stacks.Add(node);
        _stackIndex.AddLast();
        return id;
    }

    /// <summary>Frames of a stack from the leaf (innermost) to the root.</summary>
    public IEnumerable<FrameId> FramesLeafFirst(StackId stack)
    {
        for (var s = stack; !s.IsNone; s = _stacks[s.Index].Parent)
            yield return _stacks[s.Index].Frame;
    }

    public string FunctionName(FrameId frame) => _functions[_frames[frame.Index].Function.Index].Name;

    /// <summary>The name of the synthetic frame at the root of a stack whose outer frames were not
    /// captured (the stack copy ran out, or the frame-pointer chain broke): every output shows the
    /// stack as cut rather than as if it began where the capture stopped.</summary>
    public const string TruncatedFunction = "[truncated]";

    FrameId? _truncated;

    /// <summary>The <see cref="TruncatedFunction"/> frame, interned on first use. No module and an
    /// address no code has, so it never merges with a real frame.</summary>
    public FrameId TruncatedFrame()
    {
        if (_truncated is { } frame) return frame;
        var function = InternFunction(TruncatedFunction, null, null, null);
        frame = InternFrame(function, null, ulong.MaxValue, null, 0);
        _truncated = frame;
        return frame;
    }

    public bool IsTruncatedFrame(FrameId frame) => _truncated == frame;

    /// <summary>Whether the stack's outer frames were not captured (its root is <see cref="TruncatedFrame"/>).</summary>
    public bool IsTruncated(StackId stack)
    {
        if (_truncated is null || stack.IsNone) return false;
        var s = stack;
        while (!_stacks[s.Index].Parent.IsNone) s = _stacks[s.Index].Parent;
        return _stacks[s.Index].Frame == _truncated;
    }
}
