using Profiler.Collectors.Linux.Session;

namespace Profiler.Collectors.Linux.Preload;

/// <summary>
/// A process memprof attaches to may already carry the preload library, from a launch recording
/// that was killed (or runs still) or an LD_PRELOAD the user kept: it samples at the rate it was
/// started with, whatever --rate says, and its counters run from the process's start. Found here
/// so the recording states the rate that really applies, and says what the counters cover.
/// </summary>
public static class ResidentPreload
{
    /// <summary>The rate the library in the process samples at; null when it has none (or it has
    /// not run yet, or it forwards to another allocator).</summary>
    public static ulong? SamplingRate(Session.IProcessView processes, Session.IBinaryCatalog files, int pid) =>
        Find(processes, files, pid) is { Header.Rate: not 0 and var rate } ? rate : null;

    /// <summary>Where the sampler's state lies in the process (launch or injected build), and its
    /// header: what an attach needs to reset it to its own rate (<see cref="InjectLibrary.Request"/>).
    /// Null when no mapped file has the state or the library has not set itself up.</summary>
    public static (ulong StateAddress, PreloadHeader Header)? Find(Session.IProcessView processes, Session.IBinaryCatalog files, int pid)
    {
        var maps = processes.Maps(pid);
        foreach (var path in maps.Where(m => m.IsFile && m.IsExecutable).Select(m => m.Path).Distinct())
        {
            if (files.Plan(files.Canonical(path)).Preload is not { } plan) continue;
            if (files.LoadBias(maps, path) is not { } bias) return null;
            var header = new byte[PreloadState.HeaderSize];
            if (!processes.TryRead(pid, plan.StateAddress + bias, header)) return null;
            return PreloadState.DecodeHeader(header) is { } decoded ? (plan.StateAddress + bias, decoded) : null;
        }
        return null;
    }

    /// <summary>Said in the recording's mode, and read back by the reports.</summary>
    public const string Note = Core.Analysis.CounterCoverage.ResidentPreloadNote;
}
