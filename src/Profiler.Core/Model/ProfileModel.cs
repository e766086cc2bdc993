namespace Profiler.Core.Model;

public sealed record RecordingInfo(
    IReadOnlyList<string> Command,
    uint TargetPid,
    DateTimeOffset StartTime,
    long DurationNanos,
    string Collector,
    string Mode,
    ulong SamplingRateBytes,
    bool Launched,
    ulong LostEvents,
    IReadOnlyList<string> Warnings)
{
    /// <summary>Sampled blocks the collector could not remember (its table was full): their frees
    /// were not recorded, so they look live to the end.</summary>
    public ulong UntrackedSamples { get; init; }

    /// <summary>How stacks were taken: "frame-pointer", "dwarf", or empty when not recorded.</summary>
    public string Stacks { get; init; } = "";
}

/// <summary>The symbolized model every analysis and exporter reads.</summary>
public sealed class ProfileModel
{
    public required RecordingInfo Info { get; init; }
    public required CallTreeTables Tables { get; init; }
    public required IReadOnlyList<ProcessInfo> Processes { get; init; }
    /// <summary>Every event in one table, for what needs them all at once (the Firefox profile,
    /// the viewer). A model loaded to stream its events has none: use <see cref="EventSource"/>.</summary>
    public AllocationTable Events
    {
        get => _events ?? throw new InvalidOperationException(
            "this model streams its events from the recording; it was loaded without an event table");
        init => _events = value;
    }

    /// <summary>The events as the analyses read them: the table, or the recording streamed from its file.</summary>
    public IEventSource EventSource
    {
        get => _source ?? _events ?? throw new InvalidOperationException("the model has no events");
        init => _source = value;
    }

    /// <summary>Whether <see cref="Events"/> holds the events (else they are only streamed).</summary>
    public bool HasEventTable => _events is not null;

    readonly AllocationTable? _events;
    readonly IEventSource? _source;
    /// <summary>Exact per-process totals over every call, in time order; empty for recordings
    /// whose collector did not count (then the events are the only source).</summary>
    public IReadOnlyList<HeapCounterSample> Counters { get; init; } = [];
    /// <summary>Execs that replaced an image which had allocated (memprof's launcher's not among
    /// them): the counters lose that image's calls after their last read before the exec.</summary>
    public IReadOnlyList<ReplacedImage> ReplacedImages { get; init; } = [];
    /// <summary>Managed runtimes' GC heap sizes (never part of the native figures), in time order.</summary>
    public IReadOnlyList<ManagedHeapSample> ManagedHeap { get; init; } = [];
}

/// <summary>Process <paramref name="Pid"/>'s GC heap held <paramref name="Bytes"/> at <paramref name="TimeNanos"/>.</summary>
public sealed record ManagedHeapSample(uint Pid, long TimeNanos, long Bytes);

/// <summary>Process <paramref name="Pid"/> exec'd at <paramref name="ExecTimeNanos"/>, replacing an image that had allocated.</summary>
public sealed record ReplacedImage(uint Pid, long ExecTimeNanos);

/// <summary>Cumulative exact totals of one process at one time (see the recording's HeapCounters).</summary>
public sealed record HeapCounterSample(
    uint Pid, long TimeNanos, ulong Allocations, ulong AllocatedBytes, ulong Frees, ulong FreedBytes,
    bool LiveBytesKnown, long LiveBytes, long PeakLiveBytes, long PeakTimeNanos);
