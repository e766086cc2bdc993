using Profiler.Collectors.Linux.Bpf;

namespace Profiler.Collectors.Linux.Ring;

/// <summary>Hands what the kernel and the shared rings have queued on, in one time order. A
/// pass runs up to a thousand times a second while a program allocates: its delegates are made
/// once here, so that a pass allocates nothing (a closure per pass, and a delegate per mid-pass
/// kernel read, were garbage at the rate of the passes).</summary>
public sealed class RecordPump
{
    /// <summary>Every so many records handed on, the kernel's buffer is emptied into the queue for
    /// the next pass: markers' records with stack copies (a process the rings cannot serve) take
    /// long to unwind, and their buffer would overflow in the meantime.</summary>
    public const int KernelReadEvery = 256;

    readonly IKernelTracer _tracer;
    readonly SharedRing? _rings;
    readonly BpfEventSink _handOn;
    readonly Action _tick;
    readonly BpfEventSink _queueKernel, _queueKernelLater, _handOnCounting;
    int _handed;

    /// <param name="handOn">Takes each record (the session core).</param>
    /// <param name="tick">Runs after each pass (the recording's writer flushes on time).</param>
    public RecordPump(IKernelTracer tracer, SharedRing? rings, BpfEventSink handOn, Action tick)
    {
        _tracer = tracer;
        _rings = rings;
        _handOn = handOn;
        _tick = tick;
        var kernel = rings?.KernelRecords;
        _queueKernel = kernel is null ? handOn : kernel.Add;
        _queueKernelLater = kernel is null ? handOn : kernel.AddLater;
        _handOnCounting = HandOnCounting;
    }

    /// <summary>One pass; returns the number of records handed on. With rings, writers may be waiting
    /// for room: the kernel's queue is only waited on for a millisecond.</summary>
    public int Pass(int timeoutMs)
    {
        int n;
        if (_rings is null) n = _tracer.Drain(_handOn, timeoutMs);
        else
        {
            var kernel = _rings.KernelRecords;
            int admitted = kernel.AdmitLater();
            _tracer.Drain(_queueKernel, admitted > 0 ? 0 : Math.Min(timeoutMs, 1));
            _handed = 0;
            // The records admitted from the last pass's reads are handed on (and counted) in this one.
            n = _rings.Drain(_handOnCounting, kernel);
        }
        _tick();
        return n;
    }

    void HandOnCounting(ReadOnlySpan<byte> record)
    {
        _handOn(record);
        if (++_handed % KernelReadEvery == 0) _tracer.Drain(_queueKernelLater, 0);
    }
}
