using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux.Bpf;

/// <summary>Mirror of struct memprof_event in collectors/bpf/memprof.h.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
public struct BpfEventHeader
{
    public ulong TimeNanos;
    public uint Pid;
    public uint Tid;
    public ulong Address;
    public ulong OldAddress;
    public ulong Size;
    public ulong Caller;
    public ulong EntrySlot;
    public ulong OutPtr;
    public uint Function;
    public uint FrameCount;
    public ThreadName Comm;

    /// <summary>MEMPROF_EVENT_HEADER_SIZE; frames (u64 each) follow.</summary>
    public const int Size_ = 88;
    public const int MaxFrames = 127;
}

[System.Runtime.CompilerServices.InlineArray(16)]
public struct ThreadName
{
    byte _first;

    public override string ToString()
    {
        ReadOnlySpan<byte> bytes = this;
        int end = bytes.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }
}

/// <summary>Function ids of enum memprof_func; equal to AllocFunction in the recording.</summary>
public enum BpfFunction : uint
{
    Malloc = 1, Calloc = 2, Realloc = 3, ReallocArray = 4, PosixMemalign = 5,
    AlignedAlloc = 6, Memalign = 7, Valloc = 8, Pvalloc = 9, Free = 10,
    /// <summary>Not a probe: the process called exec.</summary>
    Exec = 11,
    /// <summary>Not a probe: a launched process entered exit() and is stopped until resumed.</summary>
    Exit = 12,
}

public static class BpfCookie
{
    public static ulong Make(BpfFunction function, int spOffset) => ((ulong)function << 16) | ((ulong)spOffset & 0xffff);
}
