using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux.Ring;

/// <summary>The rings a launched command's preload library writes its events into (a memfd
/// memprof creates and the process opens by <see cref="Path"/>); memprof drains them in its
/// session loop, beats a heartbeat the writers watch, and frees the rings of threads that ended
/// without giving theirs back.</summary>
public sealed unsafe partial class SharedRing : IDisposable
{
    readonly int _fd;
    readonly byte* _base;
    readonly ulong _length;
    readonly RingSizing _sizing;
    readonly ulong _dataOffset;
    long _lastReclaim;

    public string Path { get; }
    /// <summary>Only this process's events are handed on (null: every process's); the writers of
    /// other processes (children under --no-follow) are told to write none.</summary>
    public uint? OnlyPid
    {
        get => _onlyPid;
        set
        {
            _onlyPid = value;
            Volatile.Write(ref *(uint*)(_base + RingLayout.OnlyPidOffset), value ?? 0);
        }
    }

    uint? _onlyPid;
    public RingSizing Sizing => _sizing;
    /// <summary>Events whose writer waited for room (nothing lost).</summary>
    public ulong Waits => Volatile.Read(ref *(ulong*)(_base + RingLayout.WaitsOffset));
    /// <summary>Events dropped because memprof was taken for gone (a heartbeat missed for seconds).</summary>
    public ulong Dropped => Volatile.Read(ref *(ulong*)(_base + RingLayout.DroppedOffset));
    /// <summary>Events of threads that found no free ring: they went to the markers (trapped).</summary>
    public ulong NoRing => Volatile.Read(ref *(ulong*)(_base + RingLayout.NoRingOffset));
    /// <summary>Events of signal handlers that interrupted their thread's ring write: held by the
    /// thread and written into its ring after that write.</summary>
    public ulong Stashed => Volatile.Read(ref *(ulong*)(_base + RingLayout.StashedOffset));
    /// <summary>Events of such handlers that could not be held and went to the markers (trapped).</summary>
    public ulong Interrupted => Volatile.Read(ref *(ulong*)(_base + RingLayout.InterruptedOffset));
    /// <summary>Events whose stack the process unwound itself (DWARF, in-process).</summary>
    public ulong Unwound => SumOfControls(RingLayout.UnwoundOffset);
    /// <summary>Events whose stack was copied for memprof to unwind because the in-process unwind stopped short.</summary>
    public ulong Copied => SumOfControls(RingLayout.CopiedOffset);

    ulong SumOfControls(int offset)
    {
        ulong sum = 0;
        for (int i = 0; i < _sizing.RingCount; i++)
            sum += Volatile.Read(ref *(ulong*)(_base + RingLayout.HeaderBytes + (ulong)i * RingLayout.ControlBytes + (ulong)offset));
        return sum;
    }

    /// <summary>Bytes skipped for holding no well-formed record.</summary>
    public ulong DamagedBytes { get; private set; }

    /// <summary>Where the session holds the kernel's records of a poll until the pass merges them in.</summary>
    public KernelRecordQueue KernelRecords { get; } = new();

    /// <param name="stackCopyBytes">Stack copied per event for DWARF unwinding; 0: frame-pointer walks only.</param>
    /// <param name="unwindInProcess">With a stack copy: the writers unwind with CFI themselves and
    /// copy the stack only where their walk stops short of the outermost frame.</param>
    public SharedRing(RingSizing sizing, int stackCopyBytes, Func<long> monotonicNanos, bool unwindInProcess = true)
    {
        _sizing = sizing;
        _length = RingLayout.TotalBytes(sizing.RingCount, sizing.RingBytes);
        _dataOffset = RingLayout.DataOffset(sizing.RingCount);
        _cursors = new Cursor[sizing.RingCount];
        _fd = MemfdCreate("memprof-rings", MFD_CLOEXEC);
        if (_fd < 0) throw new Core.ProfilerException(Core.ExitCode.CollectorFailed, $"cannot create the shared rings: {Native.LastErrorText()}");
        if (Ftruncate(_fd, (long)_length) != 0 ||
            (_base = (byte*)Mmap(0, (nuint)_length, PROT_READ | PROT_WRITE, MAP_SHARED, _fd, 0)) == (byte*)-1)
        {
            string why = Native.LastErrorText();
            Close(_fd);
            throw new Core.ProfilerException(Core.ExitCode.CollectorFailed, $"cannot map {_length >> 20} MiB of shared rings: {why}");
        }
        *(uint*)(_base + RingLayout.VersionOffset) = RingLayout.Version;
        *(uint*)(_base + RingLayout.RingCountOffset) = (uint)sizing.RingCount;
        *(ulong*)(_base + RingLayout.RingBytesOffset) = sizing.RingBytes;
        *(ulong*)(_base + RingLayout.DataOffsetOffset) = _dataOffset;
        *(uint*)(_base + RingLayout.ReaderPidOffset) = (uint)Environment.ProcessId;
        *(uint*)(_base + RingLayout.StackCopyOffset) = (uint)Math.Max(0, stackCopyBytes);
        *(uint*)(_base + RingLayout.UnwindInProcessOffset) = unwindInProcess ? 1u : 0u;
        _monotonicNanos = monotonicNanos;
        Heartbeat();
        Volatile.Write(ref *(ulong*)(_base + RingLayout.MagicOffset), RingLayout.Magic);
        Path = $"/proc/{Environment.ProcessId}/fd/{_fd}";
        // Beaten apart from the session loop, which may be busy for seconds (probing a child's
        // libraries on a loaded machine): writers take a silent heartbeat for memprof's end.
        _heart = new Timer(_ => Heartbeat(), null, HeartbeatPeriod, HeartbeatPeriod);
    }

    readonly Func<long> _monotonicNanos;
    readonly Timer _heart;
    static readonly TimeSpan HeartbeatPeriod = TimeSpan.FromMilliseconds(100);

    void Heartbeat() => Volatile.Write(ref *(ulong*)(_base + RingLayout.HeartbeatOffset), (ulong)_monotonicNanos());

    /// <summary>A ring with events for this pass: its next event (Head), how far it was read and
    /// how far given back to its writer.</summary>
    struct Cursor
    {
        public int Ring;
        public ulong Position, Write, Released;
        public RingRecord Head;
    }

    readonly Cursor[] _cursors;

    /// <summary>Hands the published events to the sink in time order across the rings (a merge of
    /// the rings, each in time order already); returns how many. The recording's times only go
    /// forward, so a thread's events must not come after a later one of another thread (a block
    /// freed by a thread would precede its allocation). Only events stamped before the pass began
    /// are taken: any event a thread's event depends on (an allocation before the free of its
    /// block) was published before that one was stamped, so it is in this pass too. Room is given
    /// back as the events are handed on, every <see cref="ReleaseStride"/> bytes, so that a writer
    /// waiting for it goes on before the pass ends. The kernel's records read just before the
    /// pass (<paramref name="kernel"/>, all stamped before it began) are merged in by time, a
    /// kernel record first on a tie (a fork before the child's first event).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // its loop runs for seconds at most: optimized at once
    public int Drain(Bpf.BpfEventSink sink, KernelRecordQueue? kernel = null)
    {
        Heartbeat();
        ulong before = (ulong)_monotonicNanos();
        int active = 0;
        for (int i = 0; i < _sizing.RingCount; i++)
        {
            byte* control = Control(i);
            ulong write = Volatile.Read(ref *(ulong*)(control + RingLayout.WritePosOffset));
            ulong read = *(ulong*)(control + RingLayout.ReadPosOffset);
            if (write == read) continue;
            if (!RingReader.Publishable(_sizing.RingBytes, read, write))
            {
                DamagedBytes += write >= read ? write - read : 0;
                Release(i, write);
                continue;
            }
            var cursor = new Cursor { Ring = i, Position = read, Write = write, Released = read };
            if (Advance(ref cursor, before)) _cursors[active++] = cursor;
            else Release(i, cursor.Position);
        }
        int handed = 0;
        while (active > 0)
        {
            int earliest = 0;
            for (int j = 1; j < active; j++)
                if (Earlier(_cursors[j].Head, _cursors[earliest].Head)) earliest = j;
            ref var cursor = ref _cursors[earliest];
            if (kernel is { Count: > 0 }) handed += kernel.HandUpTo(cursor.Head.TimeNanos, sink);
            Hand(sink, cursor.Head);
            handed++;
            if (cursor.Position - cursor.Released >= ReleaseStride)
            {
                Release(cursor.Ring, cursor.Position);
                cursor.Released = cursor.Position;
            }
            if (!Advance(ref cursor, before))
            {
                Release(cursor.Ring, cursor.Position);
                _cursors[earliest] = _cursors[--active];
            }
        }
        if (kernel is { Count: > 0 }) handed += kernel.HandAll(sink);
        long now = _monotonicNanos();
        if (now - _lastReclaim > 1_000_000_000L)
        {
            _lastReclaim = now;
            ReclaimDeadOwners();
        }
        return handed;
    }

    /// <summary>Events stamped alike keep the order of their rings (and a ring its own).</summary>
    static bool Earlier(in RingRecord a, in RingRecord b) => a.TimeNanos < b.TimeNanos || a.TimeNanos == b.TimeNanos && a.Ring < b.Ring;

    ulong ReleaseStride => Math.Max(4096UL, _sizing.RingBytes / 16);

    /// <summary>Moves the cursor to its ring's next event of this pass; false when there is none.</summary>
    bool Advance(ref Cursor cursor, ulong before)
    {
        var step = RingReader.Next(Ring(cursor.Ring), ref cursor.Position, cursor.Write, before, cursor.Ring, out cursor.Head);
        if (step == RingStep.Damaged)
        {
            DamagedBytes += cursor.Write - cursor.Position;
            cursor.Position = cursor.Write;
        }
        return step == RingStep.Event;
    }

    void Hand(Bpf.BpfEventSink sink, in RingRecord record)
    {
        var body = Ring(record.Ring).Slice(record.Offset, record.Length);
        // Children inherit the library and the rings; without --follow their events are not recorded.
        if (OnlyPid is { } only && (body.Length < 12 || System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(body[8..]) != only)) return;
        sink(body);
    }

    /// <summary>Gives the writer back its ring's bytes up to <paramref name="position"/> (handed on),
    /// and wakes it if it sleeps for room. The store is a full fence: the writer sets its flag,
    /// then reads the position; this stores the position, then reads the flag.</summary>
    void Release(int ring, ulong position)
    {
        byte* control = Control(ring);
        Interlocked.Exchange(ref *(ulong*)(control + RingLayout.ReadPosOffset), position);
        if (Volatile.Read(ref *(uint*)(control + RingLayout.WaitingOffset)) != 0)
            FutexWake(control + RingLayout.ReadPosOffset);
    }

    const long SYS_futex = 202; // x86-64
    const int FUTEX_WAKE = 1;

    /// <summary>Wakes every thread asleep on the 32-bit word at <paramref name="word"/> (a shared mapping: not private).</summary>
    static void FutexWake(byte* word) => Syscall(SYS_futex, (nint)word, FUTEX_WAKE, int.MaxValue, 0, 0, 0);

    [LibraryImport("libc", EntryPoint = "syscall")]
    private static partial long Syscall(long number, nint address, int operation, int value, nint timeout, nint address2, int value3);

    byte* Control(int ring) => _base + RingLayout.HeaderBytes + (ulong)ring * RingLayout.ControlBytes;

    ReadOnlySpan<byte> Ring(int i) => new(_base + _dataOffset + (ulong)i * _sizing.RingBytes, (int)_sizing.RingBytes);

    /// <summary>Forgets everything published so far (the launcher shell's events before it runs the command).</summary>
    public void Discard()
    {
        for (int i = 0; i < _sizing.RingCount; i++)
            Release(i, Volatile.Read(ref *(ulong*)(Control(i) + RingLayout.WritePosOffset)));
    }

    /// <summary>A thread killed with its process (or by exec) never gave its ring back.</summary>
    void ReclaimDeadOwners()
    {
        for (int i = 0; i < _sizing.RingCount; i++)
        {
            ref ulong owner = ref *(ulong*)(_base + RingLayout.HeaderBytes + (ulong)i * RingLayout.ControlBytes + RingLayout.OwnerOffset);
            ulong value = Volatile.Read(ref owner);
            if (value == 0) continue;
            uint pid = (uint)(value >> 32), tid = (uint)value;
            if (!Directory.Exists($"/proc/{pid}/task/{tid}"))
                Interlocked.CompareExchange(ref owner, 0, value);
        }
    }

    /// <summary>memprof reads no more: every writer drops (and counts) its events from now on
    /// instead of waiting for room. Said at once, not left to the heartbeat's timeout: memprof may
    /// be waiting for the very command whose threads would wait on a full ring.</summary>
    public void StopReading()
    {
        if (_readingStopped) return;
        _readingStopped = true;
        // A beat still running would write into rings about to be unmapped.
        using (var stopped = new ManualResetEvent(false))
            if (_heart.Dispose(stopped)) stopped.WaitOne();
        if (_base == null) return;
        Interlocked.Exchange(ref *(ulong*)(_base + RingLayout.ReaderGoneOffset), 1UL);
        // A writer asleep for room looks again at once, and finds memprof gone.
        for (int i = 0; i < _sizing.RingCount; i++)
            if (Volatile.Read(ref *(uint*)(Control(i) + RingLayout.WaitingOffset)) != 0) FutexWake(Control(i) + RingLayout.ReadPosOffset);
    }

    bool _readingStopped;

    public void Dispose()
    {
        StopReading();
        if (_base != null) Munmap((nint)_base, (nuint)_length);
        if (_fd >= 0) Close(_fd);
    }

    const uint MFD_CLOEXEC = 1;
    const int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MemfdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
