using Profiler.Collectors.Linux.Probes;

namespace Profiler.Collectors.Linux.Session;

/// <summary>What memprof knows of a command's executable before launching it.</summary>
/// <param name="Jemalloc">Its jemalloc with profiling compiled in, if it has one.</param>
/// <param name="PreloadLibrary">The preload library beside memprof (null: not built).</param>
/// <param name="PreloadUnsuitable">Why the preload library cannot serve the executable (null: it
/// can); asked only when the mode would use it, since finding out runs the dynamic linker.</param>
/// <param name="InheritedVariable">A variable of memprof's own environment, which the command inherits.</param>
public sealed record LaunchFacts(
    JemallocProfSymbols? Jemalloc,
    string? PreloadLibrary,
    Func<string?> PreloadUnsuitable,
    Func<string, string?> InheritedVariable);

/// <summary>How a launched command is sampled: the environment it starts with and what to say
/// about it (null: nothing to say).</summary>
public sealed record LaunchChoice(IReadOnlyDictionary<string, string>? Environment, string? Note)
{
    /// <summary>jemalloc with profiling compiled in gets its configuration variable (for its
    /// prefix) turning sampling on at the rate; else a dynamically linked command samples
    /// in-process through the preload library; else every allocator call is probed.</summary>
    /// <param name="rings">Shared rings the library writes its events into (null: markers only).</param>
    public static LaunchChoice Decide(AllocatorMode mode, ulong rateBytes, LaunchFacts facts, (string Path, string Description)? rings = null)
    {
        if (Jemalloc.JemallocProfiling.TurnOnAtLaunch(mode, rateBytes) && facts.Jemalloc is { } prof)
        {
            string conf = Jemalloc.JemallocProfiling.Conf(rateBytes);
            string? existing = facts.InheritedVariable(prof.ConfVariable);
            return new(new Dictionary<string, string> { [prof.ConfVariable] = string.IsNullOrEmpty(existing) ? conf : conf + "," + existing }, null);
        }
        if (mode is not (AllocatorMode.Auto or AllocatorMode.Preload)) return new(null, null);
        string? reason = facts.PreloadLibrary is null
            ? $"{Preload.PreloadLibrary.FileName} is missing beside memprof (it is built with the C compiler)"
            : facts.PreloadUnsuitable();
        if (reason is not null)
            return new(null, $"in-process sampling unavailable ({reason}): probing every allocator call");
        return new(Preload.PreloadLibrary.Environment(facts.PreloadLibrary!, rateBytes, facts.InheritedVariable("LD_PRELOAD"), rings?.Path),
            rings is { Description: var described } ? $"in-process sampling (preload library, events through {described}; markers probed for threads without a ring)"
                : "in-process sampling (preload library, markers probed)");
    }
}
