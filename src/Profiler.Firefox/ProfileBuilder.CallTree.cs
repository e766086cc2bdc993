namespace Profiler.Firefox;

public sealed partial class ProfileBuilder
{
    /// <param name="file">Source file shown beside the function in the call tree, instead of the library name.</param>
    /// <param name="line">First line of the function in <paramref name="file"/>.</param>
    public FuncId InternFunc(string name, LibId? lib = null, string? file = null, int? line = null)
    {
        var resource = -1;
        if (lib is { } libId)
        {
            RequireRow(libId.Index, _tables.Libs.Count, nameof(lib));
            resource = _tables.Resources.Intern(new ResourceRow(libId, InternString(_tables.Libs[libId.Index].Name)));
        }
        int? source = file is null ? null : _tables.Sources.Intern(InternString(file));
        var row = new FuncRow(InternString(name), lib, resource, source, line);
        return new FuncId(_tables.Funcs.Intern(row));
    }

    /// <summary>A function of a library as its symbol table has it. Frames name the symbol their
    /// address lies in; an inlined frame with a symbol is what the profiler shows as inlined.</summary>
    /// <param name="address">The symbol's address relative to the library.</param>
    /// <param name="functionSize">The symbol's size in bytes, when known.</param>
    public NativeSymbolId InternNativeSymbol(LibId lib, ulong address, string name, long? functionSize = null)
    {
        RequireRow(lib.Index, _tables.Libs.Count, nameof(lib));
        RequireSafeInteger(address, nameof(address));
        if (functionSize is < 0) throw new ArgumentOutOfRangeException(nameof(functionSize), functionSize, "must not be negative");
        return new NativeSymbolId(_tables.NativeSymbols.Intern(new NativeSymbolRow(lib, address, InternString(name), functionSize)));
    }

    /// <param name="address">Address relative to the function's library.</param>
    /// <param name="line">Line of the call site (or, for a leaf, of the executing code).</param>
    /// <param name="inlineDepth">0 for the real frame, 1.. for functions inlined into it; frames of
    /// one address share it, each depth a stack node below the one before.</param>
    /// <param name="category">Defaults to <see cref="NativeCategory"/>.</param>
    /// <param name="nativeSymbol">The symbol the address lies in: for an inlined frame, the real
    /// function it was inlined into. Without it the profiler does not mark the frame inlined.</param>
    public FrameId InternFrame(FuncId func, ulong? address = null, int? line = null, int inlineDepth = 0, CategoryId? category = null,
        NativeSymbolId? nativeSymbol = null)
    {
        RequireRow(func.Index, _tables.Funcs.Count, nameof(func));
        if (address is { } value) RequireSafeInteger(value, nameof(address));
        ArgumentOutOfRangeException.ThrowIfNegative(inlineDepth);
        var frameCategory = category ?? NativeCategory;
        RequireRow(frameCategory.Index, _tables.Categories.Count, nameof(category));
        if (nativeSymbol is { } symbol) RequireRow(symbol.Index, _tables.NativeSymbols.Count, nameof(nativeSymbol));
        var row = new FrameRow(func, address, line, inlineDepth, frameCategory, nativeSymbol);
        return new FrameId(_tables.Frames.Intern(row));
    }

    /// <param name="parent">The caller's stack, or null for a root frame.</param>
    public StackId InternStack(StackId? parent, FrameId frame)
    {
        if (parent is { } parentId) RequireRow(parentId.Index, _tables.Stacks.Count, nameof(parent));
        RequireRow(frame.Index, _tables.Frames.Count, nameof(frame));
        return new StackId(_tables.Stacks.Intern(new StackRow(frame, parent)));
    }

    /// <summary>Interns a whole stack, outermost caller first.</summary>
    public StackId InternStack(params ReadOnlySpan<FrameId> rootToLeaf)
    {
        if (rootToLeaf.IsEmpty) throw new ArgumentException("a stack needs at least one frame", nameof(rootToLeaf));
        StackId? stack = null;
        foreach (var frame in rootToLeaf) stack = InternStack(stack, frame);
        return stack!.Value;
    }
}
