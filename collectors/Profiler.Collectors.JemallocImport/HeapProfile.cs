namespace Profiler.Collectors.JemallocImport;

/// <summary>One `t*:` or `tN:` line: objects and bytes live (in use) when the profile was dumped,
/// and the cumulative ones (zero unless jemalloc runs with prof_accum). jemalloc 5.3 writes
/// values that jeprof's unsampling turns into its own unbiased estimates, so they are kept as is.</summary>
public readonly record struct HeapCounts(ulong Objects, ulong Bytes, ulong AccumulatedObjects, ulong AccumulatedBytes);

/// <summary>A `tN:` line: jemalloc's own thread number (not an OS thread id) and, in the
/// profile's header, the thread's name when the program set one.</summary>
public sealed record HeapThreadCounts(ulong Thread, HeapCounts Counts, string? Name = null);

/// <summary>An `@` record: a backtrace (return addresses, innermost first, starting inside
/// jemalloc) with its totals over all threads and per thread.</summary>
/// <param name="Line">The line the record starts on, for messages.</param>
public sealed record HeapStackRecord(IReadOnlyList<ulong> Addresses, HeapCounts Total, IReadOnlyList<HeapThreadCounts> Threads, int Line);

/// <summary>A line of the MAPPED_LIBRARIES section (the process's /proc/PID/maps).</summary>
public sealed record HeapMapping(ulong Start, ulong End, string Permissions, ulong FileOffset, string Path)
{
    public bool IsExecutableFile => Permissions.Length > 2 && Permissions[2] == 'x' && Path.StartsWith('/');
}

/// <summary>A parsed jemalloc heap profile (`prof.dump`, format heap_v2).</summary>
/// <param name="SamplePeriod">The mean bytes between samples, 2^lg_prof_sample.</param>
public sealed record HeapProfile(
    ulong SamplePeriod,
    HeapCounts Total,
    IReadOnlyList<HeapThreadCounts> Threads,
    IReadOnlyList<HeapStackRecord> Stacks,
    IReadOnlyList<HeapMapping> Mappings);
