using Profiler.Core.Recording;
using Profiler.Core.Sampling;
using Proto = Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.HeapTrace;

/// <summary>
/// Turns a heap trace (every HeapAlloc/ReAlloc/Free/Destroy of a process, with stack walks and
/// image loads) into a .memprof recording. Records are reordered by time within a window, frees
/// are paired with their blocks per (process, heap), and allocations are sampled here, because ETW
/// logs every call: only sampled allocations and the frees of sampled blocks are written, each
/// with the bytes it stands for, while exact totals over every call are written as HeapCounters
/// every <see cref="HeapTraceOptions.CountersInterval"/> and at the end.
/// Not thread-safe: callers serialize <see cref="Add"/>, <see cref="Advance"/> and <see cref="Complete"/>.
/// </summary>
public sealed partial class HeapTraceConsumer(RecordingWriter writer, HeapTraceOptions options)
{
    readonly ReorderBuffer _pending = new();
    readonly StackWalkMatcher _walks = new();
    readonly StackTable _stacks = new();
    readonly LiveBlocks _blocks = new();
    readonly Dictionary<uint, ProcessTotals> _totals = [];
    readonly HashSet<(ulong Base, string Path)> _modules = [];
    readonly HashSet<uint> _exited = [];
    readonly PoissonSampler _sampler = options.CreateSampler();
    readonly long _window = (long)options.ReorderWindow.TotalNanoseconds;
    readonly long _countersInterval = Math.Max(1, (long)options.CountersInterval.TotalNanoseconds);

    long _newest = long.MinValue;      // latest time seen on any record
    long _releasedUpTo = long.MinValue; // every record at or before this time has been processed
    long _lastProcessed;                // time of the last record processed
    long _nextCounters;
    bool _arrivedSinceAdvance;
    long _lastArrivalNanos = long.MinValue / 2;
    long _heapEvents, _written, _sampled, _withoutStack, _late, _implicitFrees, _ignored, _virtualAllocs;
    ulong _virtualCommitted;

    public HeapTraceOptions Options => options;

    /// <summary>Name of the target's image, once a ProcessStart for it was seen.</summary>
    public string? TargetImageName { get; private set; }

    public HeapTraceSummary Summary => new(_heapEvents, _written, _sampled, _withoutStack, _walks.Unmatched, _late,
        (ulong)_totals.Values.Sum(t => (decimal)t.UntracedFrees), _implicitFrees, _ignored, _virtualAllocs, _virtualCommitted, _blocks.Count);

    /// <summary>Exact totals of a process so far (null when it made no heap call).</summary>
    public ProcessTotals? TotalsOf(uint pid) => _totals.GetValueOrDefault(pid);

    public void Add(TraceRecord record)
    {
        _arrivedSinceAdvance = true;
        switch (record)
        {
            case StackWalk walk:
                _walks.Add(walk);
                break;
            case ImageLoad or ImageUnload or ProcessStart:
                // Module maps and names do not depend on order: take them at once, so stacks
                // processed later always find their modules.
                if (IsTarget(record)) ProcessNow(record);
                break;
            default:
                if (!IsTarget(record)) return;
                if (record.TimeNanos <= _releasedUpTo)
                {
                    // Later than the window allows: the records it should precede are written
                    // already. Process it now rather than lose it.
                    _late++;
                    ProcessNow(record);
                    return;
                }
                _pending.Add(record);
                break;
        }
        if (record.TimeNanos > _newest)
        {
            _newest = record.TimeNanos;
            Release(_newest - _window);
        }
    }

    /// <summary>Called periodically with the trace clock's time now, so that the last records of
    /// a target that went quiet are written out. While records keep arriving, their own times
    /// decide what is released (a reader that fell behind must not release records whose
    /// predecessors are still on their way); once none arrived for a whole window, everything
    /// older than the window has been delivered.</summary>
    public void Advance(long nowNanos)
    {
        if (_arrivedSinceAdvance) { _arrivedSinceAdvance = false; _lastArrivalNanos = nowNanos; }
        if (nowNanos - _lastArrivalNanos >= _window) Release(nowNanos - _window);
    }

    /// <summary>Processes everything held and writes the final totals of every process.</summary>
    public void Complete()
    {
        Release(long.MaxValue);
        foreach (var totals in _totals.Values)
            writer.WriteHeapCounters(totals.ToCounters(_lastProcessed, options.Launched));
    }

    bool IsTarget(TraceRecord record)
    {
        if (record.Pid == options.TargetPid) return true;
        _ignored++;
        return false;
    }

    void Release(long upTo)
    {
        while (_pending.TryTake(upTo, out var record))
        {
            if (record.TimeNanos >= _nextCounters) WriteDueCounters(record.TimeNanos);
            ProcessNow(record);
        }
        if (upTo <= _releasedUpTo) return;
        _releasedUpTo = upTo;
        if (upTo >= _nextCounters && upTo != long.MaxValue) WriteDueCounters(upTo);
        // A walk whose event time is older than anything still to come can never match.
        _walks.Expire(upTo == long.MaxValue ? long.MaxValue : upTo - _window);
    }

    /// <summary>Writes the totals of processes that changed, as of the last processed record.</summary>
    void WriteDueCounters(long now)
    {
        foreach (var totals in _totals.Values)
            if (totals.Dirty) writer.WriteHeapCounters(totals.ToCounters(_lastProcessed, options.Launched));
        _nextCounters = (now / _countersInterval + 1) * _countersInterval;
    }

    void ProcessNow(TraceRecord record)
    {
        if (record.TimeNanos > _lastProcessed) _lastProcessed = record.TimeNanos;
        switch (record)
        {
            case HeapAlloc a: OnAlloc(a); break;
            case HeapReAlloc r: OnReAlloc(r); break;
            case HeapFree f: OnFree(f); break;
            case HeapDestroy d: OnDestroy(d); break;
            case ImageLoad load: OnImageLoad(load); break;
            case ImageUnload unload: _modules.Remove((unload.Base, unload.Path)); break;
            case ProcessStart start: TargetImageName ??= start.ImageName; break;
            case ProcessStop stop: OnStop(stop); break;
            case VirtualAlloc v:
                _virtualAllocs++;
                if (v.Flags.HasFlag(VirtualFlags.Commit)) _virtualCommitted += v.Size;
                break;
            case VirtualFree: break;
        }
    }

    void OnImageLoad(ImageLoad load)
    {
        if (!_modules.Add((load.Base, load.Path))) return;
        // PE images are mapped whole at their base: an address's offset from the start is its
        // RVA, which is what PDBs are indexed by, so the "file offset" of the start is 0.
        writer.WriteModule(new Proto.Module
        {
            Pid = load.Pid, Path = load.Path, BuildId = load.BuildId, Start = load.Base, End = load.Base + load.Size,
            FileOffset = 0, TimeNanos = load.TimeNanos,
        });
    }

    void OnStop(ProcessStop exit)
    {
        if (!_exited.Add(exit.Pid)) return;
        if (_totals.TryGetValue(exit.Pid, out var totals))
            writer.WriteHeapCounters(totals.ToCounters(exit.TimeNanos, options.Launched));
        writer.WriteProcessExit(new Proto.ProcessExit { Pid = exit.Pid, TimeNanos = exit.TimeNanos, ExitCode = exit.ExitCode });
    }

    ProcessTotals TotalsFor(uint pid)
    {
        if (!_totals.TryGetValue(pid, out var totals)) _totals[pid] = totals = new ProcessTotals(pid);
        return totals;
    }
}
