using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux.Bpf;

// Mirrors of collectors/bpf/memprof.h (and memprof_shared.h). KernelInterfaceTests checks every
// struct member and enum constant here against the BTF of the committed BPF object.

/// <summary>Mirror of struct memprof_event: a record's header; the frame-pointer stack
/// (FrameCount addresses) and StackLength bytes of copied stack follow.</summary>
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
    public ulong Sequence;
    public uint Function;
    public uint Flags;
    public uint FrameCount;
    public uint StackLength;
    public ulong Sp;
    public ulong Bp;
    public ulong Ip;
    public ThreadName Comm;

    /// <summary>MEMPROF_EVENT_HEADER_SIZE.</summary>
    public const int Size_ = 112;
    /// <summary>MEMPROF_MAX_FRAMES.</summary>
    public const int MaxFrames = 127;
    /// <summary>MEMPROF_MAX_STACK_COPY.</summary>
    public const int MaxStackCopy = 65536;

    /// <summary>MEMPROF_EVENT_NEW_SAMPLED: Address is a sampled allocation.</summary>
    public const uint NewSampled = 1;
    /// <summary>MEMPROF_EVENT_OLD_SAMPLED: the block freed (free's Address, realloc's OldAddress) was sampled.</summary>
    public const uint OldSampled = 2;
    /// <summary>MEMPROF_EVENT_STACK_COMPLETE: the frame-pointer walk ended on a zero frame pointer.</summary>
    public const uint StackComplete = 4;
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

/// <summary>Function ids of enum memprof_func; the allocation functions equal AllocFunction in the recording.</summary>
public enum BpfFunction : uint
{
    Malloc = 1, Calloc = 2, Realloc = 3, ReallocArray = 4, PosixMemalign = 5,
    AlignedAlloc = 6, Memalign = 7, Valloc = 8, Pvalloc = 9, Free = 10,
    /// <summary>Not a probe: the process called exec (stopped when children are followed).</summary>
    Exec = 11,
    /// <summary>Not a probe: a launched process entered exit() and is stopped until resumed.</summary>
    Exit = 12,
    /// <summary>A traced process forked; the child (Pid) is traced and stopped. OldAddress = parent.</summary>
    Fork = 13,
    /// <summary>A traced process ended; Size = its wait status.</summary>
    ProcessExit = 14,
    /// <summary>The stack of a sampled allocation's entry; the allocation follows with the same Sequence.</summary>
    Stack = 15,
    /// <summary>jemalloc's API; rallocx/xallocx records arrive as Realloc, sdallocx/dallocx as Free.</summary>
    Mallocx = 16, Rallocx = 17, Xallocx = 18, Sdallocx = 19, Dallocx = 20,
    /// <summary>jemalloc profiling mode: prof_lookup (a Stack record of jemalloc's backtrace).</summary>
    ProfLookup = 21,
    /// <summary>prof_malloc_sample_object: Address, Size, OldAddress = tctx, Caller = usize.</summary>
    ProfMalloc = 22,
    /// <summary>prof_free_sampled_object: Address (0 on 5.3.0), Size = alloc_size, OldAddress = tctx, Caller = usize.</summary>
    ProfFree = 23,
    /// <summary>Not a probe: the dynamic linker mapped or unmapped libraries; a launched process is stopped until resumed.</summary>
    Libraries = 24,
    /// <summary>The preload library's marker for a sampled allocation (or a realloc of a sampled block).</summary>
    MarkerAlloc = 25,
    /// <summary>The preload library's marker for the free of a sampled block.</summary>
    MarkerFree = 26,
}

/// <summary>The attach cookie of a probe (enum memprof_cookie): what it sits on and where the
/// caller's return address is.</summary>
public static class BpfCookie
{
    /// <summary>MEMPROF_COOKIE_GLIBC: the probed allocator is glibc's; chunk headers are readable.</summary>
    public const ulong Glibc = 1UL << 24;
    /// <summary>MEMPROF_COOKIE_SP_OFFSET_MASK: bits of the byte offset from %rsp to the return address.</summary>
    public const ulong SpOffsetMask = 0xffff;
    /// <summary>MEMPROF_COOKIE_FUNC_SHIFT and MEMPROF_COOKIE_FUNC_MASK: where the <see cref="BpfFunction"/> sits.</summary>
    public const int FunctionShift = 16;
    public const ulong FunctionMask = 0xff;

    public static ulong Make(BpfFunction function, int spOffset, bool glibc = false) =>
        (((ulong)function & FunctionMask) << FunctionShift) | ((ulong)spOffset & SpOffsetMask) | (glibc ? Glibc : 0);
}

/// <summary>Values of the targets map (enum memprof_target).</summary>
public enum BpfTarget : byte
{
    /// <summary>An existing process memprof attached to.</summary>
    Attached = 1,
    /// <summary>A process memprof launched (or a forked child of one): stopped at exit() and library loads until resumed.</summary>
    Launched = 2,
}

/// <summary>Indexes of the per-CPU counters map (enum memprof_counter).</summary>
public enum BpfCounter : uint
{
    LostEvents = 0,
    StackErrors = 1,
    SampledMapFull = 2,
    Samples = 3,
    /// <summary>Entries of the map.</summary>
    Count = 4,
}

/// <summary>Mirror of struct memprof_config.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct BpfConfig
{
    public ulong SampleRate;
    public uint StackCopy;
    public uint FollowChildren;
}

/// <summary>Mirror of struct memprof_totals: exact counts over every call of one process.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct BpfTotals
{
    public ulong Allocations;
    public ulong AllocatedBytes;
    public ulong Frees;
    public ulong FreedUsable;
    public long LiveUsable;
    public long PeakUsable;
    public ulong PeakTimeNanos;
    public ulong UsableKnown;
}
