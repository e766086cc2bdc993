namespace Profiler.Core.Analysis;

/// <summary>
/// Frames that belong to the allocator rather than the program: the libc entry points under
/// their exported and their debug-info names, the dynamic loader's own allocator, and Rust's
/// allocation plumbing (shims, the global allocator, RawVec growth), which debug info shows as
/// inlined frames. An allocation's site is its innermost frame outside this set.
/// </summary>
public static class AllocatorFrames
{
    static readonly HashSet<string> Exact =
    [
        "malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign", "aligned_alloc",
        "memalign", "valloc", "pvalloc", "cfree",
        // jemalloc's non-standard API, unprefixed as Debian's libjemalloc exports it.
        "mallocx", "rallocx", "xallocx", "sdallocx", "dallocx", "sallocx", "nallocx",
        "__libc_reallocarray", "__reallocarray", "__libc_malloc", "__libc_calloc", "__libc_realloc", "__libc_free",
        "__libc_memalign", "__libc_valloc", "__libc_pvalloc", "__posix_memalign", "_mid_memalign", "__libc_aligned_alloc",
        "_int_malloc", "_int_free", "_int_realloc", "_int_memalign", "sysmalloc", "tcache_init",
        "__minimal_malloc", "__minimal_calloc", "__minimal_realloc", "__minimal_free",
        "__rtld_malloc", "__rtld_calloc", "__rtld_realloc", "__rtld_free",
        "__rust_alloc", "__rust_dealloc", "__rust_realloc", "__rust_alloc_zeroed",
        "__rdl_alloc", "__rdl_dealloc", "__rdl_realloc", "__rdl_alloc_zeroed",
        "__rg_alloc", "__rg_dealloc", "__rg_realloc", "__rg_alloc_zeroed",
        // The Windows heap, as ETW stack walks and PDBs name it.
        "HeapAlloc", "HeapReAlloc", "HeapFree", "RtlAllocateHeap", "RtlReAllocateHeap", "RtlFreeHeap",
        "RtlpAllocateHeapInternal", "RtlpAllocateHeap", "RtlpReAllocateHeapInternal", "NtTraceEvent",
    ];

    static readonly string[] Prefixes =
    [
        "alloc::alloc::", "<alloc::alloc::Global", "alloc::raw_vec::", "<alloc::raw_vec::",
        "std::alloc::", "<std::alloc::System", "std::sys::alloc::", "std::sys::pal::unix::alloc::",
        // hashbrown's allocation helper (std's HashMap): RawVec's counterpart.
        "hashbrown::raw::alloc::",
        "__rustc::", "_rjem_", "<tikv_jemallocator::Jemalloc",
        "RtlpLogHeap", "EtwpLog",
        "<rjem::Jemalloc", "prof_backtrace_impl", "_Unwind_Backtrace",
        // C++'s allocation functions, as the Itanium demangler names them.
        "operator new(", "operator new[](", "operator delete(", "operator delete[](",
        // memprof's own sampler (in-process sampling), launched or injected.
        "memprof_preload_", "memprof_inject",
        // Frames without a symbol are named module+offset: a stripped allocator library's
        // internals (Debian's libjemalloc.so.2) are still the allocator.
        "libjemalloc.so", "libtcmalloc", "libmemprof_preload.so", "libmemprof_inject.so",
    ];

    /// <summary>Any global allocator's methods (`<X as core::alloc::global::GlobalAlloc>::alloc`).</summary>
    const string GlobalAllocImpl = " as core::alloc::global::GlobalAlloc>::";

    /// <summary>glibc calls its own functions through hidden aliases: __GI_malloc is malloc.</summary>
    const string GlibcInternalAlias = "__GI_";

    /// <summary>Code compiled from an allocator's own sources, which debug info names by its
    /// internal (often inlined, unprefixed) functions: jemalloc's `prof_alloc_prep`, `imalloc_body`…</summary>
    public static bool IsAllocatorSource(string? file) =>
        file is not null && (file.Contains("/include/jemalloc/", StringComparison.Ordinal) ||
                             file.Contains("/jemalloc/src/", StringComparison.Ordinal) ||
                             (file.Contains("jemalloc", StringComparison.Ordinal) && file.EndsWith("/src/jemalloc.c", StringComparison.Ordinal)));

    /// <summary>A function of the allocator, by its name or by the sources it was compiled from.</summary>
    public static bool IsAllocator(string function, string? file) => IsAllocator(function) || IsAllocatorSource(file);

    /// <summary>GCC names the pieces it splits or specializes a function into `f.cold`, `f.part.0`,
    /// `f.constprop.0`, `f.isra.0`: they are still f.</summary>
    static string WithoutCompilerClone(string function)
    {
        foreach (var suffix in CloneSuffixes)
        {
            int at = function.IndexOf(suffix, StringComparison.Ordinal);
            if (at > 0) return function[..at];
        }
        return function;
    }

    static readonly string[] CloneSuffixes = [".cold", ".part.", ".constprop.", ".isra."];

    /// <summary>C++'s allocator classes, whose allocate/deallocate only call operator new/delete:
    /// the container above them is what allocated, as RawVec's caller is in Rust.</summary>
    static readonly string[] CxxAllocatorClasses =
    [
        "std::__new_allocator<", "__gnu_cxx::new_allocator<", "std::allocator<", "std::allocator_traits<",
        "std::__1::allocator<", "std::__1::allocator_traits<",
    ];

    static bool IsCxxAllocatorMember(string function)
    {
        foreach (var prefix in CxxAllocatorClasses)
        {
            if (!function.StartsWith(prefix, StringComparison.Ordinal)) continue;
            int paren = function.IndexOf('(', prefix.Length);
            string name = paren > 0 ? function[..paren] : function;
            return name.EndsWith(">::allocate", StringComparison.Ordinal) || name.EndsWith(">::deallocate", StringComparison.Ordinal);
        }
        return false;
    }

    public static bool IsAllocator(string function)
    {
        if (function.StartsWith(GlibcInternalAlias, StringComparison.Ordinal)) function = function[GlibcInternalAlias.Length..];
        function = WithoutCompilerClone(function);
        if (Exact.Contains(function)) return true;
        if (function.Contains(GlobalAllocImpl, StringComparison.Ordinal)) return true;
        if (IsCxxAllocatorMember(function)) return true;
        foreach (var prefix in Prefixes)
            if (function.StartsWith(prefix, StringComparison.Ordinal)) return true;
        return false;
    }
}
