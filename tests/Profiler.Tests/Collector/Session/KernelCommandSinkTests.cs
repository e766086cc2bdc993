using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Session;
using Profiler.Core;

namespace Profiler.Tests.Collector.Session;

/// <summary>The shell carries the core's commands out in order, and forgives a vanished child only.</summary>
public sealed class KernelCommandSinkTests
{
    sealed class Tracer(Func<int, bool> attachFails) : IKernelTracer
    {
        public readonly List<string> Calls = [];
        public string Mode => "fake";
        public int LinkCount => 0;
        public void Track(int pid, bool launched) => Calls.Add($"track {pid}");
        public void Attach(int pid, string path, IReadOnlyList<UprobeTarget> targets)
        {
            if (attachFails(pid)) throw new ProfilerException(ExitCode.TargetNotFound, $"no process {pid}");
            Calls.Add($"attach {pid} {path}");
        }
        public void Detach(int pid) { }
        public int Drain(BpfEventSink sink, int timeoutMs) => 0;
        public TracerCounters ReadCounters() => default;
        public BpfTotals? ReadTotals(int pid) => null;
        public void DetachAll(bool wait = true) { }
        public void Dispose() { }
    }

    sealed class Signals(List<string> calls) : IProcessControl
    {
        public void Resume(int pid) => calls.Add($"resume {pid}");
        public void Terminate(int pid) => calls.Add($"terminate {pid}");
        public void Kill(int pid) => calls.Add($"kill {pid}");
    }

    [Fact]
    public void Commands_reach_the_tracer_and_the_processes_in_order()
    {
        var tracer = new Tracer(_ => false);
        var sink = new KernelCommandSink(tracer, new Signals(tracer.Calls), new FakeWorld());
        sink.Execute(new TrackProcess(5, true));
        sink.Execute(new AttachProbes(5, "/lib/libc.so.6", [new UprobeTarget(0x10, 1, false)], MayVanish: false));
        sink.Execute(new ResumeProcess(5));
        Assert.Equal(["track 5", "attach 5 /lib/libc.so.6", "resume 5"], tracer.Calls);
    }

    [Fact]
    public void A_child_gone_before_its_probes_is_no_failure_but_a_live_process_failing_is()
    {
        var world = new FakeWorld();
        world.MapFiles(7, FakeWorld.Libc);
        var tracer = new Tracer(_ => true);
        var sink = new KernelCommandSink(tracer, new Signals(tracer.Calls), world);

        sink.Execute(new AttachProbes(6, "/lib/libc.so.6", [], MayVanish: true));
        Assert.Throws<ProfilerException>(() => sink.Execute(new AttachProbes(7, "/lib/libc.so.6", [], MayVanish: true)));
        Assert.Throws<ProfilerException>(() => sink.Execute(new AttachProbes(6, "/lib/libc.so.6", [], MayVanish: false)));
    }

    sealed class Guard(List<string> calls) : IProbeGuard
    {
        public void Announce(int pid, string path, IReadOnlyList<ulong> offsets) =>
            calls.Add($"announce {pid} {path} {string.Join(",", offsets.Select(o => $"0x{o:x}"))}");
        public void Dispose() { }
    }

    [Fact]
    public void A_guarded_probe_is_announced_before_it_is_attached()
    {
        var tracer = new Tracer(_ => false);
        var sink = new KernelCommandSink(tracer, new Signals(tracer.Calls), new FakeWorld(), new Guard(tracer.Calls));

        sink.Execute(new AttachProbes(5, "/lib/libc.so.6", [new UprobeTarget(0x10, 1, false), new UprobeTarget(0x40, 2, true)], MayVanish: false));

        Assert.Equal(["announce 5 /lib/libc.so.6 0x10,0x40", "attach 5 /lib/libc.so.6"], tracer.Calls);
    }
}
