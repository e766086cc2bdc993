using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>A recording as read from disk: raw addresses and module maps, events in columns.</summary>
public sealed class RawRecording
{
    public required Header Header { get; init; }
    public required IReadOnlyList<Module> Modules { get; init; }
    public required IReadOnlyList<Proto.Thread> Threads { get; init; }
    public required RawStackTable Stacks { get; init; }
    public required EventColumns Events { get; init; }
    public required IReadOnlyList<ProcessExit> Exits { get; init; }
    public IReadOnlyList<ProcessExec> Execs { get; init; } = [];
    public IReadOnlyList<ProcessFork> Forks { get; init; } = [];
    /// <summary>Exact per-process totals in recording order (cumulative values).</summary>
    public IReadOnlyList<HeapCounters> Counters { get; init; } = [];
    /// <summary>Names of JIT-compiled code (a .NET runtime's perf map), in recording order.</summary>
    public IReadOnlyList<JitSymbols> JitSymbols { get; init; } = [];
    /// <summary>Managed (GC) heap sizes over time, in recording order.</summary>
    public IReadOnlyList<ManagedHeap> ManagedHeap { get; init; } = [];
    public Stats? LastStats { get; init; }
    public Footer? Footer { get; init; }
    /// <summary>Problems the reader tolerated, e.g. a truncated tail after a crash.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }
    /// <summary>Whether the recording is whole (recordings built in memory are).</summary>
    public RecordingIntegrity Integrity { get; init; } = new(true, false, 0, 0);

    /// <summary>The events batch by batch, for a streaming walk; <see cref="Events"/> is then empty
    /// when they were left in the file (<see cref="RecordingReader.ReadStreaming"/>).</summary>
    public EventBatches Batches => _batches ?? EventBatches.InMemory(Events);

    /// <summary>Whether the events were left in the file (<see cref="Events"/> is empty).</summary>
    public bool EventsInFile => _batches is not null;

    EventBatches? _batches;

    internal RawRecording WithBatches(EventBatches batches)
    {
        _batches = batches;
        return this;
    }

    public ulong LostEvents => Math.Max(Footer?.LostEvents ?? 0, LastStats?.LostEvents ?? 0);
}
