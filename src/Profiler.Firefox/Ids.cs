namespace Profiler.Firefox;

// Each id indexes one of a ProfileBuilder's tables (mostly the row it gets in the emitted
// profile), so it only means something to the builder that handed it out.

public readonly record struct StringId(int Index);

public readonly record struct CategoryId(int Index);

public readonly record struct LibId(int Index);

public readonly record struct ProcessHandle(int Index);

/// <summary>A thread of the profile; its index in the emitted <c>threads</c> array.</summary>
public readonly record struct ThreadHandle(int Index);

public readonly record struct FuncId(int Index);

/// <summary>A symbol of a library: the real function that frames, inlined or not, belong to.</summary>
public readonly record struct NativeSymbolId(int Index);

public readonly record struct FrameId(int Index);

/// <summary>A node of the stack prefix tree: a frame and the stack of its caller.</summary>
public readonly record struct StackId(int Index);

public readonly record struct CounterId(int Index);
