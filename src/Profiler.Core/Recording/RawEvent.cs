using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>One allocation or free as a collector reports it: raw addresses, no symbols.</summary>
public readonly record struct RawEvent(
    EventKind Kind,
    long TimeNanos,
    uint Pid,
    uint Tid,
    ulong Address,
    ulong Size,
    ulong Weight,
    ulong StackId,
    AllocFunction Function);
