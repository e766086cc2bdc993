using Profiler.Core.Model;
using Profiler.Firefox;
using FxFrameId = Profiler.Firefox.FrameId;
using FxStackId = Profiler.Firefox.StackId;
using StackId = Profiler.Core.Model.StackId;

namespace Profiler.Export;

/// <summary>
/// The model's call tree as the profile's tables, interned on first use: only the stacks that
/// exported events use reach the profile, with just their frames, functions, symbols and
/// libraries. A library that no exported frame lies in is not listed, whatever else the
/// recording knew of it.
/// </summary>
sealed class FirefoxCallTree
{
    readonly CallTreeTables _tables;
    readonly ProfileBuilder _builder;
    readonly FxStackId?[] _stacks;
    readonly FxFrameId?[] _frames;
    readonly FuncId?[] _funcs;
    readonly Dictionary<int, LibId> _libs = [];
    readonly SymbolIndex _symbolIndex;
    readonly Dictionary<(int Module, FunctionId Function), NativeSymbolId> _symbols = [];
    readonly DotNetCategories _categories;
    FxStackId? _noStack;

    public FirefoxCallTree(CallTreeTables tables, ProfileBuilder builder)
    {
        _tables = tables;
        _builder = builder;
        _stacks = new FxStackId?[tables.Stacks.Count];
        _frames = new FxFrameId?[tables.Frames.Count];
        _funcs = new FuncId?[tables.Functions.Count];
        _symbolIndex = new SymbolIndex(tables);
        _categories = new DotNetCategories(builder);
    }

    public FxStackId Of(StackId stack) => stack.IsNone ? NoStack() : Map(stack);

    FxStackId NoStack() => _noStack ??= _builder.InternStack(null, _builder.InternFrame(_builder.InternFunc(FirefoxExporter.NoStackFrame)));

    FxStackId Map(StackId stack)
    {
        if (_stacks[stack.Index] is { } known) return known;
        // The unmapped part of the chain, leaf first; stacks run hundreds of frames deep.
        var chain = new List<StackId>();
        var node = stack;
        while (!node.IsNone && _stacks[node.Index] is null)
        {
            chain.Add(node);
            node = _tables.Stack(node).Parent;
        }
        FxStackId? parent = node.IsNone ? null : _stacks[node.Index];
        for (int i = chain.Count - 1; i >= 0; i--)
        {
            var id = chain[i];
            parent = _stacks[id.Index] = _builder.InternStack(parent, Frame(_tables.Stack(id).Frame));
        }
        return parent!.Value;
    }

    FxFrameId Frame(Profiler.Core.Model.FrameId id)
    {
        if (_frames[id.Index] is { } known) return known;
        var frame = _tables.Frame(id);
        var modulePath = frame.Module is { } m ? _tables.Module(m).Path : null;
        if (JitCodeMap.IsManagedModule(modulePath))
        {
            // JIT-compiled code has no file to disassemble: no address, no native symbol.
            var managed = _builder.InternFrame(Func(frame.Function), null, null, 0, _categories.Managed);
            return (_frames[id.Index] = managed).Value;
        }
        var symbol = _symbolIndex.SymbolOf(id) is { } key ? Symbol(key) : (NativeSymbolId?)null;
        var mapped = _builder.InternFrame(Func(frame.Function), frame.Module is null ? null : frame.Address, frame.Line, frame.InlineDepth,
            _categories.Of(modulePath), nativeSymbol: symbol);
        return (_frames[id.Index] = mapped).Value;
    }

    FuncId Func(FunctionId id)
    {
        if (_funcs[id.Index] is { } known) return known;
        var function = _tables.Function(id);
        var mapped = _builder.InternFunc(function.Name, Lib(function.Module), function.File, function.Line);
        return (_funcs[id.Index] = mapped).Value;
    }

    NativeSymbolId Symbol((int Module, FunctionId Function) key)
    {
        if (_symbols.TryGetValue(key, out var id)) return id;
        return _symbols[key] = _builder.InternNativeSymbol(Lib(new ModuleId(key.Module))!.Value, _symbolIndex.Address(key),
            _tables.Function(key.Function).Name);
    }

    LibId? Lib(ModuleId? module)
    {
        if (module is not { } m) return null;
        if (_libs.TryGetValue(m.Index, out var lib)) return lib;
        var info = _tables.Module(m);
        return _libs[m.Index] = _builder.AddLib(new LibInfo(info.Name, info.Path, info.Name, info.Path,
            FirefoxExporter.BreakpadId(info.BuildId, info.IsWindowsPath), info.BuildId.Length > 0 ? info.BuildId : null, "x86_64"));
    }

    /// <summary>
    /// Each frame's symbol: the real (outermost) function at its address, which for an inlined
    /// frame is the function it was inlined into. The model keeps no symbol start addresses, so
    /// a symbol's address is the lowest address recorded in it.
    /// </summary>
    sealed class SymbolIndex
    {
        readonly (int Module, FunctionId Function)?[] _symbolOf;
        readonly Dictionary<(int Module, FunctionId Function), ulong> _lowest = [];

        public SymbolIndex(CallTreeTables tables)
        {
            var outermost = new Dictionary<(int Module, ulong Address), FunctionId>();
            foreach (var f in tables.Frames)
                if (f.Module is { } m && f.InlineDepth == 0) outermost.TryAdd((m.Index, f.Address), f.Function);
            _symbolOf = new (int, FunctionId)?[tables.Frames.Count];
            for (int i = 0; i < _symbolOf.Length; i++)
            {
                var f = tables.Frames[i];
                if (f.Module is not { } m || !outermost.TryGetValue((m.Index, f.Address), out var function)) continue;
                var key = (m.Index, function);
                _symbolOf[i] = key;
                _lowest[key] = _lowest.TryGetValue(key, out var address) ? Math.Min(address, f.Address) : f.Address;
            }
        }

        public (int Module, FunctionId Function)? SymbolOf(Profiler.Core.Model.FrameId frame) => _symbolOf[frame.Index];

        public ulong Address((int Module, FunctionId Function) key) => _lowest[key];
    }
}
