using System.Globalization;
using Profiler.Collectors.Linux.Probes;
using Profiler.Collectors.Linux.Session;

namespace Profiler.Collectors.Linux.Jemalloc;


/// <summary>Whether jemalloc's profiling runs in a process, and at which mean sampling interval.</summary>
public readonly record struct JemallocProfState(bool Active, int LgSample)
{
    public ulong RateBytes => 1UL << Math.Clamp(LgSample, 0, 62);
}

/// <summary>jemalloc's profiling mode: the MALLOC_CONF memprof sets at launch, and detecting on a
/// running (or about-to-run) process whether profiling is on.</summary>
public static class JemallocProfiling
{
    /// <summary>jemalloc's default lg_prof_sample (512 KiB).</summary>
    public const int DefaultLgSample = 19;

    /// <summary>jemalloc samples every 2^N bytes on average: the power of two nearest to the rate.</summary>
    public static int LgSample(ulong rateBytes) => rateBytes <= 1 ? 0 : Math.Clamp((int)Math.Round(Math.Log2(rateBytes)), 0, 62);

    public static string Conf(ulong rateBytes) =>
        $"prof:true,prof_active:true,lg_prof_sample:{LgSample(rateBytes)},prof_recent_alloc_max:0";

    /// <summary>The requested bytes a jemalloc sample stands for: jemalloc samples on usable bytes, so
    /// an object is picked with probability 1 − e^(−usize/R) and stands for size / that.</summary>
    public static ulong SampleWeight(ulong size, ulong usize, ulong rateBytes)
    {
        if (rateBytes <= 1) return size;
        double p = Core.Sampling.PoissonSampling.PoissonProbability(Math.Max(usize, size), rateBytes);
        return p <= 0 ? size : (ulong)Math.Round(size / p);
    }

    /// <summary>At launch memprof turns profiling on unless told to probe, or --rate 1 asks for
    /// every allocation exactly (only probes give that).</summary>
    public static bool TurnOnAtLaunch(AllocatorMode mode, ulong rateBytes) =>
        mode == AllocatorMode.JemallocProf || (mode == AllocatorMode.Auto && rateBytes > 1);

    /// <summary>Whether the jemalloc in the file at path has profiling compiled in, whatever its
    /// symbols say: only then does it carry its heap-profile format ("heap_v2/"), which a build
    /// without --enable-prof drops with the rest of prof_data.c. A stripped libjemalloc.so.2
    /// (Debian's) is recognised this way.</summary>
    public static bool ProfilingCompiledIn(string path)
    {
        if (!Symbols.Elf.ElfFile.TryOpen(path, out var elf, out _)) return false;
        using (elf)
            return elf.FindSection(".rodata") is { } rodata && elf.ReadSection(rodata).IndexOf("heap_v2/"u8) >= 0;
    }

    /// <summary>The state a MALLOC_CONF string gives (later options win, as in jemalloc).</summary>
    public static JemallocProfState ParseConf(string? conf)
    {
        bool prof = false, active = true;
        int lg = DefaultLgSample;
        foreach (var option in (conf ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = option.IndexOf(':');
            if (colon < 0) continue;
            string key = option[..colon], value = option[(colon + 1)..];
            switch (key)
            {
                case "prof": prof = value == "true"; break;
                case "prof_active": active = value == "true"; break;
                case "lg_prof_sample" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n): lg = n; break;
            }
        }
        return new JemallocProfState(prof && active, lg);
    }

    /// <summary>jemalloc's state in a process for the file at path: from its environment when it
    /// has not run its image yet (<paramref name="fresh"/>: launched, or stopped at exec), else from memory.</summary>
    public static JemallocProfState? Read(Session.IProcessView processes, Session.IBinaryCatalog files, int pid, string path,
        JemallocProfSymbols symbols, bool fresh) =>
        fresh
            ? FromEnvironment(processes, pid, symbols)
            : FromMemory(processes, pid, files.LoadBias(processes.Maps(pid), path), symbols);

    /// <summary>A process that has not run jemalloc yet (stopped at launch or exec): its environment decides.</summary>
    public static JemallocProfState FromEnvironment(Session.IProcessView processes, int pid, JemallocProfSymbols symbols) =>
        ParseConf(processes.EnvironmentVariable(pid, symbols.ConfVariable));

    /// <summary>A running process: jemalloc's own globals (opt_prof, prof_active_state,
    /// opt_lg_prof_sample) read from its memory, where the file is loaded at bias; null when they
    /// cannot be read (not initialized).</summary>
    public static JemallocProfState? FromMemory(Session.IProcessView processes, int pid, ulong? bias, JemallocProfSymbols symbols)
    {
        if (symbols.OptProf is not { } optProf || symbols.ProfActive is not { } profActive || bias is not { } b) return null;
        Span<byte> prof = stackalloc byte[1], active = stackalloc byte[1], lgWord = stackalloc byte[8];
        if (!processes.TryRead(pid, optProf + b, prof) || !processes.TryRead(pid, profActive + b, active)) return null;
        int lg = DefaultLgSample;
        if (symbols.OptLgProfSample is { } lgAddress)
        {
            if (!processes.TryRead(pid, lgAddress + b, lgWord)) return null;
            lg = (int)Math.Min(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(lgWord), 62);
        }
        return new JemallocProfState(prof[0] != 0 && active[0] != 0, lg);
    }
}

/// <summary>Decides per process and file whether jemalloc's sampled path replaces the probes on
/// every call, and keeps what was decided for the screen and the recording header.</summary>
/// <param name="rateBytes">The --rate asked for: 1 (every allocation, exactly) needs the probes on
/// every call even where jemalloc already samples; null: not known, jemalloc's sampling is used.</param>
public sealed class JemallocPolicy(AllocatorMode mode, ulong? rateBytes = null)
{
    readonly List<string> _notes = [];

    public AllocatorMode Mode => mode;
    public IReadOnlyList<string> Notes => _notes;

    /// <param name="readState">Reads the process's profiling state (from its environment when it has
    /// not started its image yet, else from its memory); called only when the mode leaves it to that.</param>
    /// <returns>The sampling state to use jemalloc's path with, or null to probe every call.</returns>
    public JemallocProfState? Decide(int pid, string path, Func<JemallocProfState?> readState)
    {
        if (mode is AllocatorMode.Probe or AllocatorMode.Preload)
            return Note(null, $"{Path.GetFileName(path)}: jemalloc profiling not used (--mode {(mode == AllocatorMode.Probe ? "probe" : "preload")}), probing every call");
        if (mode == AllocatorMode.Auto && rateBytes <= 1)
            return Note(null, $"{Path.GetFileName(path)}: jemalloc profiling not used (--rate 1 records every allocation), probing every call");
        var state = readState();
        if (state is { Active: true } s)
            return Note(s, $"{Path.GetFileName(path)}: jemalloc profiling (lg_prof_sample {s.LgSample})");
        return Note(null, $"{Path.GetFileName(path)}: jemalloc profiling {(state is null ? "state unreadable" : "inactive")} in pid {pid}, falling back to probing every call");
    }

    JemallocProfState? Note(JemallocProfState? state, string note)
    {
        lock (_notes)
            if (!_notes.Contains(note)) _notes.Add(note);
        return state;
    }
}
