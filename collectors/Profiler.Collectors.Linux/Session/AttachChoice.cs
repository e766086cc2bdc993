using Profiler.Core;

namespace Profiler.Collectors.Linux.Session;

/// <summary>What memprof knows of a running process before attaching to it.</summary>
/// <param name="InjectLibrary">The injectable sampler beside memprof (null: not built).</param>
/// <param name="StaticallyLinked">The executable has no dynamic linker: no GOT to redirect.</param>
/// <param name="JemallocProfiling">Its jemalloc samples for memprof already (the cheapest way).</param>
/// <param name="ResidentLaunchLibrary">The launch preload library is already in the process: it
/// samples there already, by symbol, and is read as it is.</param>
public sealed record AttachFacts(string? InjectLibrary, bool StaticallyLinked, bool JemallocProfiling, bool ResidentLaunchLibrary);

/// <summary>How an attached process is sampled: by injecting the sampler, or by probes on every
/// allocator call; <see cref="Note"/> says why not injection, in one line (kept in the header).</summary>
public sealed record AttachChoice(bool Inject, string? Note)
{
    /// <summary>Whether --mode auto injects on attach. Not yet: injection is opt-in (--mode inject)
    /// until it has been proven on multi-threaded servers under repeated attach/detach.</summary>
    public static readonly bool AutoInjects = false;

    public static AttachChoice Decide(AllocatorMode mode, AttachFacts facts) => Decide(mode, facts, AutoInjects);

    public static AttachChoice Decide(AllocatorMode mode, AttachFacts facts, bool autoInjects)
    {
        if (mode is AllocatorMode.Probe or AllocatorMode.JemallocProf) return new(false, null);
        if (mode == AllocatorMode.Auto && !autoInjects) return new(false, null);
        // jemalloc sampling for memprof already traps only its samples: nothing to gain.
        if (mode == AllocatorMode.Auto && facts.JemallocProfiling) return new(false, null);
        string? why = facts switch
        {
            { InjectLibrary: null } => $"{Preload.InjectLibrary.FileName} is missing beside memprof (it is built with the C compiler)",
            { StaticallyLinked: true } => "the program is statically linked: it has no allocator slots to redirect",
            { ResidentLaunchLibrary: true } => "the process already carries memprof's launch sampler, which is read as it is",
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
