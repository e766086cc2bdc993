using Profiler.Collectors.Linux;
using Profiler.Collectors.Linux.Bpf;
using Profiler.Core;
using Profiler.Core.Recording;
using static Profiler.Tests.Collector.Session.FakeWorld;

namespace Profiler.Tests.Collector.Session;

/// <summary>The recording shell against a fake machine: what reaches the file, and what every
/// way of ending leaves behind (no probe, no stopped process, no unrecorded command).</summary>
public sealed class LinuxRecordSessionTests : IDisposable
{
    const int Pid = 4242;
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-shell");
    string Output => Path.Combine(_dir.FullName, "r.memprof");

    public void Dispose() => _dir.Delete(recursive: true);

    // The fake launch gives the command no shared rings: the tracer is made for the markers from the start.
    RecordSessionOptions Launch() => new(Output, ["app"], null, null, "test") { SharedRings = false };
    RecordSessionOptions Attach() => new(Output, [], Pid, null, "test");

    static FakeHost Host()
    {
        var host = new FakeHost(Pid);
        host.World.MapFiles(Pid, App, Libc);
        return host;
    }

    static RecordSessionResult Run(FakeHost host, RecordSessionOptions options, CancellationToken cancel = default) =>
        LinuxRecordSession.Run(options, _ => host.Tracer, null, cancel, host: host.Session);

    [Fact]
    public void A_tracer_loaded_early_for_shared_rings_the_launch_then_cannot_use_is_released_and_made_again_for_the_markers()
    {
        var host = Host();
        host.Tracer.Batches.Enqueue([KernelRecord.Exited(Pid, 0)]);
        host.Tracer.WhenDrained = () => host.Command.ExitCode = 0;
        var made = new List<TracerSettings>();

        LinuxRecordSession.Run(new RecordSessionOptions(Output, ["app"], null, null, "test") { SharedRings = true },
            settings => { lock (made) made.Add(settings); return host.Tracer; }, null, default, host: host.Session);

        // Loaded while the launch was prepared, for rings; the launch chose the markers (its
        // environment names no ring): that tracer is released before anything is probed, and the
        // session's is made for the markers (their larger kernel buffer).
        Assert.Equal([true, false], made.Select(s => s.SharedRings));
        Assert.Equal(["launch app", "dispose", "attach 4242 libc.so.6"], host.Log.Take(3));
    }

    [Fact]
    public void A_launched_command_is_probed_before_it_is_resumed_and_recorded_to_its_end()
    {
        var host = Host();
        host.Tracer.Batches.Enqueue([KernelRecord.Exec(Pid, "app"), KernelRecord.Malloc(Pid, Pid, 0xa000, 100, 1, [LibcBase + 0x1000, AppBase + 0x1234])]);
        host.Tracer.Batches.Enqueue([KernelRecord.Exited(Pid, 3 << 8)]);
        host.Tracer.WhenDrained = () => host.Command.ExitCode = 3;

        var result = Run(host, Launch());

        Assert.Equal(3, result.CommandExitCode);
        // Resumed once launched, and again from its stop at the exec into the command.
        Assert.Equal(["launch app", "attach 4242 libc.so.6", "resume 4242", "resume 4242", "detach all", "wait", "dispose"], host.Log);
        var recording = RecordingReader.Read(Output);
        Assert.NotNull(recording.Footer);
        Assert.Equal(1, recording.Events.Count);
        Assert.Equal(3, Assert.Single(recording.Exits).ExitCode);
        Assert.True(recording.Header.Launched);
    }

    [Fact]
    public void A_command_with_nothing_to_probe_is_killed_before_it_runs_and_leaves_no_recording()
    {
        var host = new FakeHost(Pid);
        host.World.MapFiles(Pid, App);

        var e = Assert.Throws<ProfilerException>(() => Run(host, Launch()));

        Assert.Equal(ExitCode.CollectorFailed, e.ExitCode);
        Assert.Null(e.CommandExitCode);
        Assert.Equal(["launch app", "detach all", "kill 4242", "wait", "dispose"], host.Log);
        Assert.False(File.Exists(Output));
    }

    [Fact]
    public void A_failure_while_recording_detaches_lets_every_process_go_and_passes_the_exit_code_on()
    {
        var host = Host();
        host.World.MapFiles(Pid + 1, App, Libc);
        // A child stopped at its fork, then the tracer breaks.
        host.Tracer.Batches.Enqueue([KernelRecord.Fork(Pid, Pid + 1)]);
        host.Tracer.WhenDrained = () => throw new IOException("ring buffer gone");

        var e = Assert.Throws<ProfilerException>(() => Run(host, Launch()));

        Assert.Equal((ExitCode.CollectorFailed, 0), (e.ExitCode, e.CommandExitCode));
        Assert.Contains("ring buffer gone", e.Message);
        int detach = host.Log.IndexOf("detach all");
        Assert.True(detach > 0, string.Join(", ", host.Log));
        Assert.Contains($"resume {Pid + 1}", host.Log.Skip(detach));
        Assert.Contains($"resume {Pid}", host.Log.Skip(detach));
        Assert.True(File.Exists(Output), "what was recorded stays readable");
        Assert.Single(RecordingReader.Read(Output).Forks);
    }

    [Fact]
    public void Stopping_a_recording_gives_the_command_its_grace_then_terminates_it_and_completes_the_file()
    {
        var host = Host();
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        var result = Run(host, Launch(), cancel.Token);

        Assert.Equal(143, result.CommandExitCode);
        Assert.Equal(["launch app", "attach 4242 libc.so.6", "resume 4242", "detach all", "resume 4242", "terminate 4242", "wait", "dispose"], host.Log);
        Assert.NotNull(RecordingReader.Read(Output).Footer);
    }

    [Fact]
    public void Attaching_to_a_process_that_is_gone_or_asking_preload_of_it_is_refused_before_anything_is_touched()
    {
        var host = Host();
        host.Unattachable = "pid 4242 has exited (it is a zombie, waiting for its parent to reap it)";
        Assert.Equal(ExitCode.TargetNotFound, Assert.Throws<ProfilerException>(() => Run(host, Attach())).ExitCode);

        var preload = Assert.Throws<ProfilerException>(() => Run(host, Attach() with { AllocatorMode = AllocatorMode.Preload }));
        Assert.Equal(ExitCode.UsageError, preload.ExitCode);
        Assert.Empty(host.Log);
        Assert.False(File.Exists(Output));
    }

    [Fact]
    public void An_attached_process_is_recorded_until_it_exits_and_is_never_signalled()
    {
        var host = Host();
        host.Tracer.Batches.Enqueue([KernelRecord.Make(BpfFunction.Free, Pid, address: 0xa000, frames: [LibcBase + 0x2000])]);
        host.Tracer.WhenDrained = () => host.World.ProcessMaps.Remove(Pid);

        var result = Run(host, Attach() with { AllocatorMode = AllocatorMode.Probe });

        Assert.Null(result.CommandExitCode);
        Assert.Null(result.SlotsRestored);
        Assert.Equal(["priority", "attach 4242 libc.so.6", "detach all", "dispose", "priority back"], host.Log);
        var recording = RecordingReader.Read(Output);
        Assert.Equal(["app --serve"], recording.Header.Command);
        Assert.Equal(1, recording.Events.Count);
        Assert.False(recording.Header.Launched);
    }

    [Fact]
    public void An_attach_by_injection_puts_the_slots_back_before_the_probes_go_and_says_so_in_the_header()
    {
        var host = Host();
        host.Tracer.Batches.Enqueue([KernelRecord.Make(BpfFunction.Free, Pid, address: 0xa000, frames: [LibcBase + 0x2000])]);
        host.Tracer.WhenDrained = () => host.World.ProcessMaps.Remove(Pid);

        var result = Run(host, Attach() with { SampleRateBytes = 1, AllocatorMode = AllocatorMode.Inject });

        Assert.Equal(["priority", "inject 4242 rate 1", "attach 4242 libc.so.6", "count 4242", "restore slots 4242", "detach all", "release rings 4242", "dispose", "priority back"], host.Log);
        Assert.NotNull(result.SlotsRestored);
        var mode = RecordingReader.Read(Output).Header.Mode;
        Assert.StartsWith("in-process sampling injected into the running process (3 allocator slots redirected", mode);
        // What the counts leave out is said where the report reads it.
        Assert.Contains("libc-internal calls not seen", mode);
    }

    [Fact]
    public void Slots_the_detach_cannot_put_back_finish_the_recording_and_are_the_result_s_failure()
    {
        var host = Host();
        host.DetachFailure = "frees definitions left redirected (thread 4243 of process 4242 did not stop within 2 s)";
        host.Tracer.Batches.Enqueue([KernelRecord.Make(BpfFunction.Free, Pid, address: 0xa000, frames: [LibcBase + 0x2000])]);
        host.Tracer.WhenDrained = () => host.World.ProcessMaps.Remove(Pid);

        var result = Run(host, Attach() with { AllocatorMode = AllocatorMode.Inject });

        Assert.Equal($"detaching from process {Pid} left its allocator calls going through memprof's sampler ({host.DetachFailure}); " +
                     $"it only forwards them now, and the next `memprof record --pid {Pid}` takes them over and puts them back", result.DetachFailure);
        // Everything else ran as after a detach that restored everything, and the recording is complete.
        Assert.Equal(["priority", "inject 4242 rate 524288", "attach 4242 libc.so.6", "count 4242", "restore slots 4242", "detach all", "release rings 4242", "dispose", "priority back"], host.Log);
        var recording = RecordingReader.Read(Output);
        Assert.NotNull(recording.Footer);
        Assert.Equal(1, recording.Events.Count);
    }

    [Fact]
    public void Auto_injects_into_an_attached_process()
    {
        var host = Host();
        host.Tracer.WhenDrained = () => host.World.ProcessMaps.Remove(Pid);

        Run(host, Attach());

        Assert.Equal(["priority", "inject 4242 rate 524288", "attach 4242 libc.so.6", "count 4242", "restore slots 4242", "detach all", "release rings 4242", "dispose", "priority back"], host.Log);
        Assert.StartsWith("in-process sampling injected into the running process", RecordingReader.Read(Output).Header.Mode);
        // Rings at the default rate too: a sample's stack is unwound in the target, not trapped and copied into the kernel's buffer.
        Assert.NotNull(host.InjectedRingPath);
    }

    [Fact]
    public void An_injected_sampler_at_every_call_writes_into_shared_rings_released_after_the_last_drain()
    {
        var host = Host();
        host.Tracer.WhenDrained = () => host.World.ProcessMaps.Remove(Pid);

        Run(host, Attach() with { SampleRateBytes = 1, AllocatorMode = AllocatorMode.Inject });

        Assert.Equal(["priority", "inject 4242 rate 1", "attach 4242 libc.so.6", "count 4242", "restore slots 4242", "detach all", "release rings 4242", "dispose", "priority back"], host.Log);
        Assert.Matches(@"^/proc/\d+/fd/\d+$", host.InjectedRingPath);
        Assert.Contains("; events through shared rings (256 × 4096 KiB;", RecordingReader.Read(Output).Header.Mode);
    }

    [Fact]
    public void Rings_the_injected_sampler_cannot_take_leave_its_events_to_the_markers_and_the_header_says_why()
    {
        var host = Host();
        host.Tracer.WhenDrained = () => host.World.ProcessMaps.Remove(Pid);
        host.InjectRingsRefusal = "the library could not map them (Permission denied (errno 13))";

        Run(host, Attach() with { SampleRateBytes = 1, AllocatorMode = AllocatorMode.Inject });

        Assert.DoesNotContain("release rings 4242", host.Log);
        var mode = RecordingReader.Read(Output).Header.Mode;
        Assert.Contains($"; shared rings not used ({host.InjectRingsRefusal}): sampled events trap on the markers", mode);
        Assert.DoesNotContain("events through shared rings", mode);
    }

    [Fact]
    public void Auto_falls_back_to_probes_where_injection_fails_and_the_header_keeps_why()
    {
        var host = Host();
        host.Tracer.WhenDrained = () => host.World.ProcessMaps.Remove(Pid);
        host.InjectFailure = "no thread of process 4242 reached an allocator's entry or a waiting call at a safe point within 2 s (4 threads watched)";

        Run(host, Attach());

        Assert.Equal(["priority", "inject 4242 rate 524288", "attach 4242 libc.so.6", "detach all", "dispose", "priority back"], host.Log);
        Assert.StartsWith($"attach by injection not possible ({host.InjectFailure}): probing every allocator call; ", RecordingReader.Read(Output).Header.Mode);
    }

    [Fact]
    public void Auto_probes_a_program_whose_allocator_is_linked_in_without_trying_to_inject()
    {
        var host = Host();
        host.Tracer.WhenDrained = () => host.World.ProcessMaps.Remove(Pid);
        host.Facts = host.Facts with { LinkedAllocator = "_rjem_malloc" };

        Run(host, Attach());

        Assert.Equal(["priority", "attach 4242 libc.so.6", "detach all", "dispose", "priority back"], host.Log);
        Assert.StartsWith("attach by injection not possible (the program's allocator is linked into it (_rjem_malloc)", RecordingReader.Read(Output).Header.Mode);
    }

    [Fact]
    public void Mode_inject_fails_with_its_exit_code_and_leaves_nothing_where_injection_cannot_be_done()
    {
        var host = Host();
        host.InjectFailure = "ptrace may only trace descendants here";
        var e = Assert.Throws<ProfilerException>(() => Run(host, Attach() with { AllocatorMode = AllocatorMode.Inject }));
        Assert.Equal(ExitCode.InjectionFailed, e.ExitCode);
        Assert.Contains(host.InjectFailure, e.Message);
        Assert.Equal(["priority", "inject 4242 rate 524288", "priority back"], host.Log);
        Assert.False(File.Exists(Output));

        host.Facts = host.Facts with { StaticallyLinked = true };
        e = Assert.Throws<ProfilerException>(() => Run(host, Attach() with { AllocatorMode = AllocatorMode.Inject }));
        Assert.Equal(ExitCode.InjectionFailed, e.ExitCode);
        Assert.Contains("statically linked", e.Message);
        Assert.Equal(["priority", "inject 4242 rate 524288", "priority back", "priority", "priority back"], host.Log);

        var launch = Assert.Throws<ProfilerException>(() => Run(host, Launch() with { AllocatorMode = AllocatorMode.Inject }));
        Assert.Equal(ExitCode.UsageError, launch.ExitCode);
    }

    [Fact]
    public void Mode_probe_never_injects()
    {
        var host = Host();
        host.Tracer.WhenDrained = () => host.World.ProcessMaps.Remove(Pid);
        Run(host, Attach() with { AllocatorMode = AllocatorMode.Probe });
        Assert.Equal(["priority", "attach 4242 libc.so.6", "detach all", "dispose", "priority back"], host.Log);
    }
}
