using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Inject;

namespace Profiler.Tests.Collector.Inject;

/// <summary>The probe guard's reading: "done" means memprof ended well; the input's end without it
/// means memprof died, and every announced probe of a live process is registered and released.</summary>
public sealed class ProbeGuardTests
{
    readonly List<string> _made = [];

    SafePointProbeFactory Probes => (pid, path, offsets) =>
    {
        _made.Add($"{pid} {path} {string.Join(",", offsets.Select(o => $"0x{o:x}"))}");
        return (new NoProbe(), null);
    };

    static StringReader Input(params string[] lines) => new(string.Join("\n", lines) + (lines.Length > 0 ? "\n" : ""));

    static string Notice(int pid, string path, params ulong[] offsets) => new SafePointProbeNotice(pid, path, offsets).Encode();

    [Fact]
    public void Done_leaves_every_probe_alone()
    {
        int takenOut = ProbeGuard.Run(Input(Notice(5, "/lib/libc.so.6", 0x10), ProbeGuard.Done), _ => true, Probes);

        Assert.Equal(0, takenOut);
        Assert.Empty(_made);
    }

    [Fact]
    public void The_end_without_done_takes_out_each_live_process_file_once_with_all_its_offsets()
    {
        var input = Input(
            Notice(5, "/lib/libc.so.6", 0x40, 0x10),
            Notice(6, "/lib/libc.so.6", 0x10),
            "not a notice",
            Notice(5, "/lib/libc.so.6", 0x10, 0x20),
            Notice(5, "/lib/libjemalloc.so.2", 0x99));

        int takenOut = ProbeGuard.Run(input, pid => pid != 6, Probes);

        Assert.Equal(2, takenOut);
        Assert.Equal(["5 /lib/libc.so.6 0x10,0x20,0x40", "5 /lib/libjemalloc.so.2 0x99"], _made);
    }

    [Fact]
    public void Nothing_announced_is_nothing_to_do() =>
        Assert.Equal(0, ProbeGuard.Run(Input(), _ => true, Probes));

    [Fact]
    public void A_probe_that_cannot_be_made_again_is_not_counted()
    {
        int takenOut = ProbeGuard.Run(Input(Notice(5, "/lib/libc.so.6", 0x10)), _ => true, (_, _, _) => (null, "no such process"));

        Assert.Equal(0, takenOut);
    }

    sealed class NoProbe : ISafePointProbe
    {
        public void Watch(int tid) { }
        public void Open(int signal) { }
        public void Close() { }
        public void Dispose() { }
    }
}
