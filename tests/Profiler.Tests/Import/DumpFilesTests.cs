using Profiler.Collectors.JemallocImport;
using Profiler.Core;

namespace Profiler.Tests.Import;

public sealed class DumpFilesTests
{
    [Theory]
    [InlineData("jeprof.1234.0.f.heap", 1234u)]
    [InlineData("/var/tmp/prof.out.77.12.i3.heap", 77u)]
    [InlineData("jeprof.9.3.m12.heap", 9u)]
    [InlineData("a.b.c.4321.5.u0.heap", 4321u)]
    [InlineData("heavy.heap", 0u)]
    [InlineData("jeprof.1234.0.x.heap", 0u)]
    [InlineData("jeprof.1234.0.f.heap.gz", 0u)]
    [InlineData("1234.0.f.heap", 0u)]
    public void The_pid_comes_from_jemallocs_file_name_pattern(string name, uint pid) =>
        Assert.Equal(pid, DumpFiles.PidOf(name));

    [Fact]
    public void Dumps_of_different_processes_are_refused()
    {
        Assert.Equal(55u, DumpFiles.CommonPid(["x.heap", "jeprof.55.0.i0.heap", "jeprof.55.1.i1.heap"]));
        var e = Assert.Throws<ProfilerException>(() => DumpFiles.CommonPid(["jeprof.55.0.i0.heap", "jeprof.56.1.i1.heap"]));
        Assert.Equal(ExitCode.UsageError, e.ExitCode);
        Assert.Contains("jeprof.55.0.i0.heap is from pid 55 but jeprof.56.1.i1.heap is from pid 56", e.Message);
    }

    [Fact]
    public void Jemallocs_sequence_numbers_order_the_dumps_a_shell_sorts_as_text()
    {
        Assert.Equal(["d/p.7.2.i2.heap", "d/p.7.10.i10.heap", "d/p.7.11.f.heap"],
            DumpFiles.InDumpOrder(["d/p.7.10.i10.heap", "d/p.7.11.f.heap", "d/p.7.2.i2.heap"]));
        // Without jemalloc's names on every file, the order given is the order.
        Assert.Equal(["b.heap", "d/p.7.10.i10.heap", "d/p.7.2.i2.heap"],
            DumpFiles.InDumpOrder(["b.heap", "d/p.7.10.i10.heap", "d/p.7.2.i2.heap"]));
    }

    [Fact]
    public void Times_follow_the_files_and_keep_the_given_order()
    {
        var t0 = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var times = DumpFiles.Times([t0, t0.AddSeconds(2.5), t0.AddSeconds(2.5), t0.AddSeconds(1), t0.AddSeconds(10)]);
        Assert.Equal([0L, 2_500_000_000L, 2_501_000_000L, 2_502_000_000L, 10_000_000_000L], times);
    }
}
