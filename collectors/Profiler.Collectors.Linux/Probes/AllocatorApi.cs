using Profiler.Collectors.Linux.Bpf;

namespace Profiler.Collectors.Linux.Probes;

/// <summary>The C allocation API memprof probes, with how many arguments each probe reads.</summary>
public static class AllocatorApi
{
    public sealed record Entry(string Symbol, BpfFunction Function, int Arguments, bool NeedsReturn);

    public static readonly IReadOnlyList<Entry> Functions =
    [
        new("malloc", BpfFunction.Malloc, 1, true),
        new("calloc", BpfFunction.Calloc, 2, true),
        new("realloc", BpfFunction.Realloc, 2, true),
        new("reallocarray", BpfFunction.ReallocArray, 3, true),
        new("posix_memalign", BpfFunction.PosixMemalign, 3, true),
        new("aligned_alloc", BpfFunction.AlignedAlloc, 2, true),
        new("memalign", BpfFunction.Memalign, 2, true),
        new("valloc", BpfFunction.Valloc, 1, true),
        new("pvalloc", BpfFunction.Pvalloc, 1, true),
        new("free", BpfFunction.Free, 1, false),
    ];
}
