using Profiler.Core.Analysis;

namespace Profiler.Tests.Analysis;

public sealed class AllocatorSourceTests
{
    [Theory]
    [InlineData("/build/jemalloc-5.3.0/include/jemalloc/internal/prof_inlines.h", true)]
    [InlineData("/build/jemalloc-5.3.0/src/jemalloc.c", true)]
    [InlineData("/work/app/src/main.rs", false)]
    [InlineData("/work/app/src/jemalloc_stats.rs", false)]
    [InlineData(null, false)]
    public void Jemalloc_sources_are_allocator_code(string? file, bool allocator) =>
        Assert.Equal(allocator, AllocatorFrames.IsAllocatorSource(file));
}

public sealed class AllocatorNameTests
{
    [Theory]
    [InlineData("malloc.cold", true)]
    [InlineData("_int_free.part.0", true)]
    [InlineData("memprof_preload_report", true)]
    [InlineData("memprof_preload_sampled_alloc", true)]
    [InlineData("allocs::leak_leaf", false)]
    [InlineData("parse.cold", false)]
    [InlineData("libjemalloc.so.2+0xa2630", true)]
    [InlineData("libfoo.so+0x1234", false)]
    public void Compiler_clones_of_allocator_functions_and_the_preload_library_are_allocator_frames(string name, bool allocator) =>
        Assert.Equal(allocator, AllocatorFrames.IsAllocator(name));
}
