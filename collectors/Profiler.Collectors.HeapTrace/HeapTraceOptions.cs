using Profiler.Core.Sampling;

namespace Profiler.Collectors.HeapTrace;

/// <summary>How a <see cref="HeapTraceConsumer"/> turns a heap trace into a recording.</summary>
public sealed record HeapTraceOptions(uint TargetPid)
{
    /// <summary>Mean bytes between samples; 1 writes every allocation with its own size.</summary>
    public ulong SamplingRateBytes { get; init; } = 1;

    /// <summary>Tracing began before the target's first allocation (it was launched suspended).</summary>
    public bool Launched { get; init; }

    /// <summary>How long records are held for reordering. Real-time ETW sessions deliver each
    /// CPU's buffer about once a second; two seconds covers that with margin.</summary>
    public TimeSpan ReorderWindow { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often (in trace time) the exact totals are written.</summary>
    public TimeSpan CountersInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The sampler's random source (fixed in tests).</summary>
    public Random? Random { get; init; }

    internal PoissonSampler CreateSampler() => new(SamplingRateBytes, Random);
}

/// <summary>What a consumer saw, for the status line and the end-of-recording message.</summary>
public sealed record HeapTraceSummary(
    long HeapEvents,
    long WrittenEvents,
    long SampledAllocations,
    long AllocationsWithoutStack,
    long UnmatchedStackWalks,
    long LateRecords,
    ulong UntracedFrees,
    long ImplicitFrees,
    long IgnoredRecords,
    long VirtualAllocs,
    ulong VirtualCommittedBytes,
    long LiveBlocks);
