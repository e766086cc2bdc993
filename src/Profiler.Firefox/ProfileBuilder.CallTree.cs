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

    /// <param name="address">Address relative to the function's library.</param>
    /// <param name="line">Line of the call site (or, for a leaf, of the executing code).</param>
    /// <param name="inlineDepth">0 for the real frame, 1.. for functions inlined into it.</param>
    /// <param name="category">Defaults to <see cref="NativeCategory"/>.</param>
    public FrameId InternFrame(FuncId func, ulong? address = null, int? line = null, int inlineDepth = 0, CategoryId? category = null)
    {
        RequireRow(func.Index, _tables.Funcs.Count, nameof(func));
        if (address is { } value) RequireSafeInteger(value, nameof(address));
        ArgumentOutOfRangeException.ThrowIfNegative(inlineDepth);
        var frameCategory = category ?? NativeCategory;
        RequireRow(frameCategory.Index, _tables.Categories.Count, nameof(category));
        var row = new FrameRow(func, address, line, inlineDepth, frameCategory);
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
