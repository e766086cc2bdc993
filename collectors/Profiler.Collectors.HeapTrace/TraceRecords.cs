namespace Profiler.Collectors.HeapTrace;

/// <summary>
/// One thing a Windows heap trace reports, copied out of the tracing library into plain data.
/// Times are nanoseconds after the recording origin, on one clock shared by every source.
/// </summary>
public abstract record TraceRecord(long TimeNanos, uint Pid, uint Tid);

/// <summary>HeapAlloc on <paramref name="Heap"/>. <paramref name="Stack"/> is leaf first when the
/// source delivers it with the event; otherwise a <see cref="StackWalk"/> refers to this event.</summary>
public sealed record HeapAlloc(long TimeNanos, uint Pid, uint Tid, ulong Heap, ulong Address, ulong Size, ulong[]? Stack = null)
    : TraceRecord(TimeNanos, Pid, Tid);

/// <summary>HeapReAlloc: the block at <paramref name="OldAddress"/> became <paramref name="NewAddress"/>
/// (equal when it was resized in place). A failed call reports a new address of 0.</summary>
public sealed record HeapReAlloc(long TimeNanos, uint Pid, uint Tid, ulong Heap, ulong NewAddress, ulong NewSize,
    ulong OldAddress, ulong OldSize, ulong[]? Stack = null) : TraceRecord(TimeNanos, Pid, Tid);

public sealed record HeapFree(long TimeNanos, uint Pid, uint Tid, ulong Heap, ulong Address, ulong[]? Stack = null)
    : TraceRecord(TimeNanos, Pid, Tid);

/// <summary>HeapDestroy: every block still live in <paramref name="Heap"/> is gone with it.</summary>
public sealed record HeapDestroy(long TimeNanos, uint Pid, uint Tid, ulong Heap) : TraceRecord(TimeNanos, Pid, Tid);

/// <summary>The call stack (leaf first) of the event that thread <paramref name="Tid"/> logged at
/// <paramref name="EventTimeNanos"/>; it arrives after that event, as a separate record. Kernel-mode
/// frames may be included; they are dropped.</summary>
public sealed record StackWalk(long TimeNanos, uint Pid, uint Tid, long EventTimeNanos, ulong[] Addresses)
    : TraceRecord(TimeNanos, Pid, Tid);

/// <summary>A PE image mapped at [<paramref name="Base"/>, Base + Size). <paramref name="BuildId"/>
/// identifies its PDB (Profiler.Symbols.Pe.PeBuildId's form), or is empty when unknown.</summary>
public sealed record ImageLoad(long TimeNanos, uint Pid, ulong Base, ulong Size, string Path, string BuildId)
    : TraceRecord(TimeNanos, Pid, 0);

public sealed record ImageUnload(long TimeNanos, uint Pid, ulong Base, ulong Size, string Path)
    : TraceRecord(TimeNanos, Pid, 0);

public sealed record ProcessStart(long TimeNanos, uint Pid, uint ParentPid, string ImageName, string CommandLine)
    : TraceRecord(TimeNanos, Pid, 0);

public sealed record ProcessStop(long TimeNanos, uint Pid, int ExitCode) : TraceRecord(TimeNanos, Pid, 0);

/// <summary>VirtualAlloc / VirtualFree of [<paramref name="Base"/>, Base + Size) with the call's
/// MEM_* flags.</summary>
public sealed record VirtualAlloc(long TimeNanos, uint Pid, uint Tid, ulong Base, ulong Size, VirtualFlags Flags)
    : TraceRecord(TimeNanos, Pid, Tid);

public sealed record VirtualFree(long TimeNanos, uint Pid, uint Tid, ulong Base, ulong Size, VirtualFlags Flags)
    : TraceRecord(TimeNanos, Pid, Tid);

/// <summary>The MEM_* flags of VirtualAlloc / VirtualFree.</summary>
[Flags]
public enum VirtualFlags : uint
{
    None = 0,
    Commit = 0x1000,
    Reserve = 0x2000,
    Decommit = 0x4000,
    Release = 0x8000,
}
