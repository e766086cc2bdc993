namespace Profiler.Core.Model;

public readonly record struct ModuleId(int Index);

public readonly record struct FunctionId(int Index);

public readonly record struct FrameId(int Index);

/// <summary>A node of the stack prefix tree: a frame and the stack of its caller.</summary>
public readonly record struct StackId(int Index)
{
    public static readonly StackId None = new(-1);
    public bool IsNone => Index < 0;
}
