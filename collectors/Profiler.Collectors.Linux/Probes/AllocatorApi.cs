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
        // jemalloc's own API (nallocx and sallocx allocate nothing).
        new("mallocx", BpfFunction.Mallocx, 1, true),
        new("rallocx", BpfFunction.Rallocx, 2, true),
        new("xallocx", BpfFunction.Xallocx, 2, true),
        new("sdallocx", BpfFunction.Sdallocx, 1, false),
        new("dallocx", BpfFunction.Dallocx, 1, false),
    ];

    /// <summary>Every jemalloc defines it, whatever its prefix: a prefix P is an allocator's when
    /// P + "mallocx" is defined (glibc's __libc_malloc aliases are not).</summary>
    public const string JemallocMarker = "mallocx";
}
