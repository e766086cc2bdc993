using Profiler.Collectors.Linux.Probes;

namespace Profiler.Collectors.Linux.Session;

/// <summary>What memprof knows of a command's executable before launching it.</summary>
/// <param name="Jemalloc">Its jemalloc with profiling compiled in, if it has one.</param>
/// <param name="PreloadLibrary">The preload library beside memprof (null: not built).</param>
/// <param name="PreloadUnsuitable">Why the preload library cannot serve the image the command
/// runs (null: it can; a script's is its interpreter's); asked only when the mode would use it,
/// since finding out runs the dynamic linker.</param>
/// <param name="InheritedVariable">A variable of memprof's own environment, which the command inherits.</param>
/// <param name="UnprobeableJemalloc">A library the command links whose jemalloc has profiling
/// compiled in but whose sampled path has no symbols to probe (stripped), or null; asked only when
/// jemalloc's sampling would be wanted, since finding out runs the dynamic linker.</param>
/// <param name="SampledThrough">The library (file name) whose allocator the preload library samples
/// through, the first after it in lookup order to define the malloc family (libjemalloc.so.2), or
/// null for glibc's; asked only when the library is used.</param>
public sealed record LaunchFacts(
    JemallocProfSymbols? Jemalloc,
    string? PreloadLibrary,
    Func<PreloadUnfit?> PreloadUnsuitable,
    Func<string, string?> InheritedVariable,
    Func<string?>? UnprobeableJemalloc = null,
    Func<string?>? SampledThrough = null);

/// <summary>How a launched command is sampled: the environment it starts with and what to say
/// about it (null: nothing to say).</summary>
public sealed record LaunchChoice(IReadOnlyDictionary<string, string>? Environment, string? Note)
{
    /// <summary>The note already says why jemalloc's own sampling is not used.</summary>
    public bool JemallocExplained { get; init; }

    public const string InProcess = "in-process sampling (preload library, markers probed)";

    /// <summary>jemalloc with profiling compiled in gets its configuration variable (for its
    /// prefix) turning sampling on at the rate; else a dynamically linked command samples
    /// in-process through the preload library (through the allocator it links, libjemalloc.so.2's
    /// when that cannot sample itself); else its calls are probed, and the library still
    /// goes into the environment when the programs it runs can take it (a static wrapper's).</summary>
    /// <param name="rings">Shared rings the library writes its events into (null: markers only).</param>
    public static LaunchChoice Decide(AllocatorMode mode, ulong rateBytes, LaunchFacts facts, (string Path, string Description)? rings = null)
    {
        if (Jemalloc.JemallocProfiling.TurnOnAtLaunch(mode, rateBytes) && facts.Jemalloc is { } prof)
        {
            string conf = Jemalloc.JemallocProfiling.Conf(rateBytes);
            string? existing = facts.InheritedVariable(prof.ConfVariable);
            return new(new Dictionary<string, string> { [prof.ConfVariable] = string.IsNullOrEmpty(existing) ? conf : conf + "," + existing }, null);
        }
        // Recognised but not usable: said instead of "no jemalloc with profiling compiled in".
        string? unprobeable = Jemalloc.JemallocProfiling.TurnOnAtLaunch(mode, rateBytes) && facts.Jemalloc is null
            ? facts.UnprobeableJemalloc?.Invoke() : null;
        var choice = DecideWithoutJemalloc(mode, rateBytes, facts, rings);
        if (unprobeable is null) return choice;
        string why = $"{unprobeable} has jemalloc's profiling compiled in, but its sampled path (prof_malloc_sample_object) " +
                     "has no symbol to probe (the library is stripped)";
        string note = choice switch
        {
            { Note: null } => $"{why}: probing every call",
            { SampledThrough: { } through } when through == unprobeable => $"{why}, so it cannot sample: {choice.Note}",
            _ => $"{why}; {choice.Note}",
        };
        return choice with { Note = note, JemallocExplained = true };
    }

    /// <summary>The library whose allocator the preload library samples through (null: glibc's, or none).</summary>
    public string? SampledThrough { get; init; }

    static LaunchChoice DecideWithoutJemalloc(AllocatorMode mode, ulong rateBytes, LaunchFacts facts, (string Path, string Description)? rings)
    {
        if (mode is not (AllocatorMode.Auto or AllocatorMode.Preload)) return new(null, null);
        if (facts.PreloadLibrary is null)
            return new(null, $"in-process sampling unavailable ({Preload.PreloadLibrary.FileName} is missing beside memprof " +
                             "(it is built with the C compiler)): probing every allocator call");
        var environment = Preload.PreloadLibrary.Environment(facts.PreloadLibrary, rateBytes, facts.InheritedVariable("LD_PRELOAD"), rings?.Path);
        string inProcess = rings is { Description: var described }
            ? $"in-process sampling (preload library, events through {described}; markers probed for threads without a ring)"
            : InProcess;
        var unfit = facts.PreloadUnsuitable();
        if (unfit is null && facts.SampledThrough?.Invoke() is { } through)
            return new(environment, inProcess.Replace("in-process sampling", $"in-process sampling through {through}'s allocator", StringComparison.Ordinal))
            {
                SampledThrough = through,
            };
        return unfit switch
        {
            null => new(environment, inProcess),
            { PassOn: true } => new(environment,
                $"in-process sampling unavailable ({unfit.Reason}): probing its allocator calls; the programs it runs inherit the library ({inProcess})"),
            _ => new(null, $"in-process sampling unavailable ({unfit.Reason}): probing every allocator call"),
        };
    }
}
