namespace Profiler.Core.Analysis;

/// <summary>
/// Frames that belong to the allocator rather than the program: the libc entry points and the
/// Rust allocation shims. An allocation's site is its innermost frame outside this set.
/// </summary>
public static class AllocatorFrames
{
    static readonly HashSet<string> Exact =
    [
        "malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign", "aligned_alloc",
        "memalign", "valloc", "pvalloc", "__libc_reallocarray", "__libc_malloc", "__libc_calloc", "__libc_realloc",
        "__libc_free", "__libc_memalign", "__libc_valloc", "__libc_pvalloc", "cfree",
        "__rust_alloc", "__rust_dealloc", "__rust_realloc", "__rust_alloc_zeroed",
        "__rdl_alloc", "__rdl_dealloc", "__rdl_realloc", "__rdl_alloc_zeroed",
        "__rustc::__rust_alloc", "__rustc::__rust_dealloc", "__rustc::__rust_realloc", "__rustc::__rust_alloc_zeroed",
        "__rustc::__rdl_alloc", "__rustc::__rdl_dealloc", "__rustc::__rdl_realloc", "__rustc::__rdl_alloc_zeroed",
    ];

    static readonly string[] Prefixes =
    [
        "alloc::alloc::", "std::sys::alloc::", "std::sys::pal::unix::alloc::", "std::alloc::",
        "<std::alloc::System as core::alloc::global::GlobalAlloc>::",
        "<alloc::alloc::Global as core::alloc::Allocator>::",
        "__rustc::",
    ];

    public static bool IsAllocator(string function)
    {
        if (Exact.Contains(function)) return true;
        foreach (var prefix in Prefixes)
            if (function.StartsWith(prefix, StringComparison.Ordinal)) return true;
        return false;
    }
}
