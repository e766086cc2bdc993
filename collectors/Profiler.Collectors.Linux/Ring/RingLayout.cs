namespace Profiler.Collectors.Linux.Ring;

/// <summary>The shared rings' layout, mirror of collectors/preload/memprof_ring.h (change both).</summary>
public static class RingLayout
{
    /// <summary>MEMPROF_RING_MAGIC, "MEMFRNG1" little-endian.</summary>
    public const ulong Magic = 0x31474e52464d454dUL;
    public const uint Version = 2;
    /// <summary>MEMPROF_RING_ENV: the path the preload library opens.</summary>
    public const string EnvironmentVariable = "MEMPROF_RING";
    public const int HeaderBytes = 4096;
    public const int ControlBytes = 128;
    /// <summary>A record's prefix: uint32 length (whole record, multiple of 8), uint32 kind.</summary>
    public const int PrefixBytes = 8;
    public const uint RecordEvent = 1;
    public const uint RecordPad = 2;
    /// <summary>MEMPROF_RING_EVENT_UNWOUND: an event's frames are a CFI unwind the process did
    /// itself (leaf first; StackComplete when it reached the outermost frame), with no stack copy.</summary>
    public const uint EventUnwound = 0x100;
    /// <summary>MEMPROF_RING_EVENT_STACK_DEFINE: the event's frames are a stack the writer names,
    /// with the name in its Sequence; later events of that ring name it by <see cref="EventStackRef"/>.</summary>
    public const uint EventStackDefine = 0x200;
    /// <summary>MEMPROF_RING_EVENT_STACK_REF: no frames; the stack is the one named by the Sequence.</summary>
    public const uint EventStackRef = 0x400;

    // struct memprof_ring_shared
    public const int MagicOffset = 0;
    public const int VersionOffset = 8;
    public const int RingCountOffset = 12;
    public const int RingBytesOffset = 16;
    public const int DataOffsetOffset = 24;
    public const int HeartbeatOffset = 32;
    public const int ReaderPidOffset = 40;
    public const int StackCopyOffset = 44;
    public const int WaitsOffset = 48;
    public const int DroppedOffset = 56;
    public const int NoRingOffset = 64;
    public const int ReaderGoneOffset = 72;
    public const int UnwindInProcessOffset = 80;
    public const int OnlyPidOffset = 84;
    /// <summary>Events of signal handlers that interrupted their thread's ring write, written into the ring after it.</summary>
    public const int StashedOffset = 88;
    /// <summary>Such events that went to the markers instead (stash full, a handler within a handler, a copy needed).</summary>
    public const int InterruptedOffset = 96;

    // struct memprof_ring_control
    public const int OwnerOffset = 0;
    public const int WritePosOffset = 8;
    public const int UnwoundOffset = 16;
    public const int CopiedOffset = 24;
    /// <summary>Non-zero while the ring's writer sleeps on a futex (the low half of read_pos) for room.</summary>
    public const int WaitingOffset = 32;
    public const int ReadPosOffset = 64;

    /// <summary>Where ring 0's bytes start: the header, then the controls, page-aligned.</summary>
    public static ulong DataOffset(int ringCount) => (ulong)HeaderBytes + (((ulong)ringCount * ControlBytes + 4095) & ~4095UL);

    public static ulong TotalBytes(int ringCount, ulong ringBytes) => DataOffset(ringCount) + (ulong)ringCount * ringBytes;
}
