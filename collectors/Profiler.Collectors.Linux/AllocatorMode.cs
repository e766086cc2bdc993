namespace Profiler.Collectors.Linux;

/// <summary>How allocations are caught (`memprof record --mode`).</summary>
public enum AllocatorMode
{
    /// <summary>The cheapest that works: jemalloc's own sampling where it is compiled in (turned on
    /// at launch when --rate is above 1) or active, the preload library for launched dynamically
    /// linked programs, probes on every allocator call otherwise.</summary>
    Auto,
    /// <summary>In-process sampling by the preload library (launched commands only), through glibc's
    /// allocator or the one the program links (libjemalloc.so.2); allocators it cannot interpose
    /// (static binaries, a jemalloc linked in statically) are still probed.</summary>
    Preload,
    /// <summary>Probes on every allocator call.</summary>
    Probe,
    /// <summary>Attach only: load the sampler into the running process and redirect its allocator
    /// calls through it; fail rather than fall back to probes.</summary>
    Inject,
    /// <summary>jemalloc's sampled path wherever jemalloc has profiling compiled in.</summary>
    JemallocProf,
}
