namespace Profiler.Core.Model;

public sealed record ModuleInfo(string Path, string BuildId)
{
    /// <summary>A module recorded on Windows (C:\…\x.dll), whatever system reads the recording.</summary>
    public bool IsWindowsPath => ModulePath.IsWindows(Path);

    public string Name => IsWindowsPath ? Path[(Path.LastIndexOf('\\') + 1)..] : System.IO.Path.GetFileName(Path);
}

public sealed record FunctionInfo(string Name, ModuleId? Module, string? File, int? Line);

/// <summary>A code location: <paramref name="Address"/> is relative to its module's image
/// (ELF virtual address), or absolute when the module is unknown.</summary>
public sealed record FrameInfo(FunctionId Function, ModuleId? Module, ulong Address, int? Line, int InlineDepth);

public readonly record struct StackNode(FrameId Frame, StackId Parent);

public sealed record ThreadInfo(uint Tid, string Name);

public sealed record ProcessInfo(uint Pid, string Name, long StartNanos, long? EndNanos, int? ExitCode, IReadOnlyList<ThreadInfo> Threads)
{
    /// <summary>The recorded process that forked this one, when children were followed.</summary>
    public uint? ParentPid { get; init; }
}

/// <summary>What a frame resolver returns for one address: outermost first when inlined.</summary>
public sealed record ResolvedFrame(string Function, string? ModulePath, string? ModuleBuildId, ulong Address, string? File, int? Line);
