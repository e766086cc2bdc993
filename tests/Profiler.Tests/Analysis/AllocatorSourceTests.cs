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
