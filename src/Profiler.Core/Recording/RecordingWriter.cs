using Google.Protobuf;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>
/// Appends records to a .memprof stream. Events are buffered into columnar batches, stacks into
/// batches of their own; everything
/// written is handed to the operating system at least every <see cref="FlushInterval"/>, so a
/// killed recorder leaves a file that reads up to its last flush. Not thread-safe: one writer
/// thread (the collector's consumer) owns it.
/// A failed write (full disk, I/O error) does not throw where it happens, in the middle of the
/// collector's bookkeeping: the writer keeps the error in <see cref="Failure"/>, writes nothing
/// more, and the owner ends the recording cleanly; <see cref="Complete"/> then reports it.
/// </summary>
public sealed class RecordingWriter : IDisposable
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);
    /// <summary>Events per compressed batch: Brotli finds more to share in 16 Ki events than in 4 Ki
    /// (3.7 against 3.9 bytes an event) and spends less per event.</summary>
    public const int BatchCapacity = 16384;
    /// <summary>Stacks per compressed stack batch at most; a batch is written sooner, before any
    /// event batch (an event's stack comes before it).</summary>
    public const int StackBatchCapacity = 16384;

    readonly Stream _stream;
    readonly Func<long> _clockMs;
    readonly string _name;
    readonly EventColumns _batch = new();
    readonly StackBatchCodec _stacks = new();
    long _lastEventTime;
    /// <summary>The time of the event before the batch: the batch's first time is a delta from it.</summary>
    long _batchTimeBefore;
    byte[] _plain = [];
    byte[] _encoded = [];
    long _lastFlushMs;
    bool _disposed;

    public RecordingWriter(Stream stream, Header header, Func<long>? clockMs = null, string name = "the recording")
    {
        _stream = stream;
        _name = name;
        _clockMs = clockMs ?? (() => Environment.TickCount64);
        Guarded(() => _stream.Write(RecordingFormat.Magic));
        header.FormatVersion = RecordingFormat.Version;
        Write(new Record { Header = header }, isHeader: true);
        _lastFlushMs = _clockMs();
    }

    public long EventCount { get; private set; }

    /// <summary>The first write that failed; nothing is written after it.</summary>
    public Exception? Failure { get; private set; }

    public static RecordingWriter Create(string path, Header header)
    {
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16); }
        catch (Exception e) when (Files.OutputFile.IsWriteFailure(e)) { throw Files.OutputFile.Failed(path, e); }
        var writer = new RecordingWriter(stream, header, name: path);
        if (writer.Failure is { } failure) { writer.Dispose(); throw Files.OutputFile.Failed(path, failure); }
        return writer;
    }

    public void WriteModule(Module module) => Write(new Record { Module = module });

    public void WriteThread(Proto.Thread thread) => Write(new Record { Thread = thread });

    public void WriteStack(Stack stack)
    {
        _stacks.Add(stack);
        if (_stacks.Count >= StackBatchCapacity) FlushStacks();
    }

    public void WriteProcessExec(ProcessExec exec) => Write(new Record { ProcessExec = exec });

    public void WriteProcessFork(ProcessFork fork) => Write(new Record { ProcessFork = fork });

    /// <summary>Compressed: a runtime's method names are most of a .NET program's recording otherwise.</summary>
    public void WriteJitSymbols(JitSymbols symbols)
    {
        int length = CompressedRecord.EncodeRecord(new Record { JitSymbols = symbols }, ref _plain, ref _encoded);
        Guarded(() => RecordFraming.Write(_stream, _encoded, length, ref _frame));
    }

    public void WriteManagedHeap(ManagedHeap heap) => Write(new Record { ManagedHeap = heap });

    public void WriteHeapCounters(HeapCounters counters)
    {
        FlushBatch();
        Write(new Record { HeapCounters = counters });
    }

    public void WriteProcessExit(ProcessExit exit)
    {
        FlushBatch();
        Write(new Record { ProcessExit = exit });
    }

    public void WriteStats(Stats stats)
    {
        FlushBatch();
        Write(new Record { Stats = stats });
    }

    /// <summary>Times are nanoseconds after the recording origin and should be non-decreasing per writer.</summary>
    public void WriteEvent(in RawEvent e)
    {
        long delta = e.TimeNanos - _lastEventTime;
        // Events from different CPUs can arrive slightly out of order; keep deltas unsigned by
        // clamping, which moves such an event to its predecessor's time.
        if (delta < 0) delta = 0;
        _lastEventTime += delta;
        _batch.Add(e with { TimeNanos = _lastEventTime });
        EventCount++;
        if (_batch.Count >= BatchCapacity) FlushBatch();
    }

    /// <summary>Called periodically by the owner; hands buffered data to the OS when due.</summary>
    public void Tick()
    {
        long now = _clockMs();
        if (now - _lastFlushMs < FlushInterval.TotalMilliseconds) return;
        Flush();
    }

    public void Flush()
    {
        FlushBatch();
        Guarded(() => _stream.Flush());
        _lastFlushMs = _clockMs();
    }

    /// <summary>Ends the recording with its footer; throws the write failure if there was one
    /// (a recording without its footer reads as cut short).</summary>
    public void Complete(Footer footer)
    {
        FlushBatch();
        Write(new Record { Footer = footer });
        Flush();
        if (Failure is { } failure) throw Files.OutputFile.Failed(_name, failure);
    }

    /// <summary>Writes the stacks held, then the events held: each event's stack comes before it.</summary>
    void FlushBatch()
    {
        FlushStacks();
        if (_batch.Count == 0) return;
        int length = EventBatchCodec.EncodeCompressedRecord(_batch, _batchTimeBefore, ref _plain, ref _encoded);
        Guarded(() => RecordFraming.Write(_stream, _encoded, length, ref _frame));
        _batch.Clear();
        _batchTimeBefore = _lastEventTime;
    }

    void FlushStacks()
    {
        if (_stacks.Count == 0) return;
        int length = _stacks.Encode(ref _encoded);
        Guarded(() => RecordFraming.Write(_stream, _encoded, length, ref _frame));
    }

    byte[] _frame = [];

    void Write(Record record, bool isHeader = false) => Guarded(() => RecordFraming.Write(_stream, record, isHeader, ref _frame));

    void Guarded(Action write)
    {
        if (Failure is not null) return;
        try { write(); }
        catch (Exception e) when (Files.OutputFile.IsWriteFailure(e)) { Failure = e; }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        FlushBatch();
        Guarded(() => _stream.Flush());
        // Closing flushes what the stream still buffers: a failure there is already recorded or moot.
        try { _stream.Dispose(); }
        catch (Exception e) when (Files.OutputFile.IsWriteFailure(e)) { Failure ??= e; }
    }
}
