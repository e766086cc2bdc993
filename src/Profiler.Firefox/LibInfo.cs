namespace Profiler.Firefox;

/// <summary>A binary that frames belong to; frame addresses are relative to its load address.</summary>
public sealed record LibInfo(
    string Name,
    string Path,
    string DebugName,
    string DebugPath,
    string BreakpadId,
    string? CodeId,
    string Arch);
