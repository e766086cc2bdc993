using Profiler.Collectors.Linux.Inject;

namespace Profiler.Tests.Collector.Inject;

/// <summary>The small decisions: which threads to watch, which signal marks the end of the
/// call, and the one-line reasons for refusing.</summary>
public sealed class RemoteLoaderChoicesTests
{
    [Fact]
    public void The_threads_that_ran_most_lately_are_watched_first_and_stopped_ones_never()
    {
        RemoteLoaderThread[] before = [new(100, 'S', 50), new(101, 'R', 900), new(102, 'R', 10), new(103, 'S', 5), new(104, 'T', 0), new(105, 'D', 0)];
        RemoteLoaderThread[] after = [new(100, 'S', 50), new(101, 'R', 901), new(102, 'R', 30), new(103, 'S', 5), new(104, 'T', 500), new(105, 'D', 90), new(106, 'R', 0)];

        // 102 ran 20 ticks, 101 one; then running before sleeping, then most CPU overall.
        Assert.Equal([102, 101, 106, 100], RemoteLoaderThreads.Choose(before, after, 4));
        Assert.Equal([102], RemoteLoaderThreads.Choose(before, after, 1));
    }

    [Fact]
    public void A_stat_line_gives_the_state_and_the_cpu_time_whatever_the_command()
    {
        var thread = RemoteLoaderThreads.Parse(7, "7 (a (weird) name) R 1 7 7 0 -1 4194560 100 0 0 0 123 45 0 0 20 0 1 0 100 0 0");
        Assert.Equal(new RemoteLoaderThread(7, 'R', 168), thread);
        Assert.Null(RemoteLoaderThreads.Parse(7, "7 (cut"));
    }

    [Fact]
    public void This_process_s_threads_parse_and_the_running_one_is_among_them()
    {
        var target = new ProcfsRemoteLoaderTarget();
        var threads = target.Threads(Environment.ProcessId);
        Assert.True(threads.Count >= 2, $"{threads.Count} threads");
        Assert.Contains(threads, t => t.State == 'R'); // this one, reading
        Assert.InRange(threads.Count, Directory.GetDirectories($"/proc/{Environment.ProcessId}/task").Length - 3, Directory.GetDirectories($"/proc/{Environment.ProcessId}/task").Length + 3);
    }

    [Fact]
    public void The_marker_signal_is_one_the_kernel_drops_untraced()
    {
        static ulong Bit(int s) => 1UL << (s - 1);
        Assert.Equal(23, RemoteLoaderSignals.Marker(new(0, 0, 0)));
        // Go catches SIGURG; a terminal program SIGWINCH.
        Assert.Equal(28, RemoteLoaderSignals.Marker(new(0, 0, Bit(23))));
        Assert.Equal(17, RemoteLoaderSignals.Marker(new(Bit(28), 0, Bit(23))));
        // All three taken: a signal the program ignores (a server's SIGPIPE) does as well.
        Assert.Equal(13, RemoteLoaderSignals.Marker(new(Bit(28), Bit(13), Bit(23) | Bit(17))));
        // None: the stub's system call is watched instead.
        Assert.Equal(0, RemoteLoaderSignals.Marker(new(Bit(28) | Bit(13), Bit(13), Bit(23) | Bit(17))));
    }

    [Fact]
    public void A_refused_ptrace_is_explained_by_what_refused_it()
    {
        string Refused(int errno, int? yama, int tracer = 0, bool root = true) =>
            RemoteLoaderReasons.PtraceRefused(321, errno, "Operation not permitted (errno 1)", yama, tracer, root);

        Assert.Equal("process 321 is already traced by process 99 (a debugger?)", Refused(1, 1, tracer: 99));
        Assert.Equal("ptrace is disabled on this system (kernel.yama.ptrace_scope = 3)", Refused(1, 3));
        Assert.Equal("ptrace needs CAP_SYS_PTRACE here (kernel.yama.ptrace_scope = 2): run memprof as root", Refused(1, 2, root: false));
        Assert.Equal("ptrace may only trace descendants here (kernel.yama.ptrace_scope = 1): run memprof as root or set the sysctl to 0", Refused(1, 1, root: false));
        Assert.Equal("ptrace refused to attach to process 321: it belongs to another user or is not dumpable; run memprof as root", Refused(1, null, root: false));
        Assert.Equal("ptrace refused to attach to process 321 (a seccomp filter or a security module forbids it)", Refused(1, 1));
        Assert.Equal("process 321 is gone", Refused(3, 1));
        Assert.Equal("process 321 runs in seccomp's strict mode: it may make no system call a load needs", RemoteLoaderReasons.Seccomp(321, 1, allowFilter: true));
        Assert.Equal("process 321 runs under a seccomp filter: a system call of the load it forbids could kill it", RemoteLoaderReasons.Seccomp(321, 2, allowFilter: false));
        Assert.Null(RemoteLoaderReasons.Seccomp(321, 2, allowFilter: true));
        Assert.Null(RemoteLoaderReasons.Seccomp(321, 0, allowFilter: false));
        Assert.Equal("no thread of process 321 reached an allocator's entry or a waiting call at a safe point within 2 s (4 threads watched; 2 rejected, last: why)",
            RemoteLoaderReasons.NoSafePoint(321, TimeSpan.FromSeconds(2), 4, ["because", "why"]));
    }
}
