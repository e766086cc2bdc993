using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Session;

/// <summary>Everything the session core reads and emits through, so that it holds no handle on
/// the kernel, the processes or the files itself.</summary>
/// <param name="Unwinder">Unwinds samples that carry a copy of their stack (DWARF mode), and checks
/// that frame-pointer walks went through frames that keep one.</param>
/// <param name="Jemalloc">Decides where jemalloc's own sampling replaces the probes (null: never).</param>
public sealed record SessionPorts(
    IRecordSink Records,
    ICommandSink Commands,
    IProcessView Processes,
    IBinaryCatalog Files,
    IKernelCounters Kernel,
    Unwinding.IStackUnwinder? Unwinder = null,
    Jemalloc.JemallocPolicy? Jemalloc = null);

public static class BinaryCatalogExtensions
{
    /// <summary>Where the file's virtual address 0 lies in the process: its first mapping (file
    /// offset 0) minus the first load segment's page-aligned address; null when not mapped.</summary>
    public static ulong? LoadBias(this IBinaryCatalog files, IReadOnlyList<MapEntry> maps, string path)
    {
        var first = maps.FirstOrDefault(m => m.Path == path && m.FileOffset == 0);
        return first is not null && files.FirstLoadAddress(path) is { } firstVa ? first.Start - firstVa : null;
    }
}
