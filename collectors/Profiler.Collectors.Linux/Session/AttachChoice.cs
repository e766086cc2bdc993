using Profiler.Core;

namespace Profiler.Collectors.Linux.Session;

/// <summary>What memprof knows of a running process before attaching to it.</summary>
/// <param name="InjectLibrary">The injectable sampler beside memprof (null: not built).</param>
/// <param name="StaticallyLinked">The executable has no dynamic linker: no GOT to redirect.</param>
/// <param name="JemallocProfiling">Its jemalloc samples for memprof already (the cheapest way).</param>
/// <param name="ResidentLaunchLibrary">The launch preload library is already in the process: it
/// samples there already, by symbol, and is read as it is.</param>
/// <param name="LinkedAllocator">An allocator function the executable defines itself (tikv-jemallocator's
/// <c>_rjem_malloc</c>, a malloc of its own), or null: its calls are direct, through no slot.</param>
public sealed record AttachFacts(string? InjectLibrary, bool StaticallyLinked, bool JemallocProfiling, bool ResidentLaunchLibrary,
    string? LinkedAllocator = null);

/// <summary>How an attached process is sampled: by injecting the sampler, or by probes on every
/// allocator call; <see cref="Note"/> says why not injection, in one line (kept in the header).</summary>
public sealed record AttachChoice(bool Inject, string? Note)
{
    /// <summary>--mode auto and inject inject where it can be done; auto falls back to probes
    /// saying why, inject fails with its own exit code; probe probes.</summary>
    public static AttachChoice Decide(AllocatorMode mode, AttachFacts facts)
    {
        if (mode is AllocatorMode.Probe or AllocatorMode.JemallocProf) return new(false, null);
        // jemalloc sampling for memprof already traps only its samples: nothing to gain (and
        // the jemalloc policy says in the header which way it records).
        if (mode == AllocatorMode.Auto && facts.JemallocProfiling) return new(false, null);
        string? why = facts switch
        {
            { InjectLibrary: null } => $"{Preload.InjectLibrary.FileName} is missing beside memprof (it is built with the C compiler)",
            { StaticallyLinked: true } => "the program is statically linked: it has no allocator slots to redirect",
            { ResidentLaunchLibrary: true } => "the process already carries memprof's launch sampler, which is read as it is",
            { LinkedAllocator: { } symbol } => $"the program's allocator is linked into it ({symbol}): its calls go through no allocator slot",
            _ => null,
        };
        return why is null ? new(true, null) : FallBack(mode, why);
    }

    /// <summary>Injection was tried and could not be done (or was undone): probes instead, said in
    /// one line — or, with --mode inject, a failure with its own exit code.</summary>
    public static AttachChoice FallBack(AllocatorMode mode, string why)
    {
        if (mode == AllocatorMode.Inject)
            throw new ProfilerException(ExitCode.InjectionFailed, $"cannot attach by injection: {why}");
        return new(false, $"attach by injection not possible ({why}): probing every allocator call");
    }
}
