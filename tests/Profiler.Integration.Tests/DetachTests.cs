using System.Diagnostics;
using Profiler.Core.Recording;

namespace Profiler.Integration.Tests;

/// <summary>However a recording ends, no probe stays behind and what was recorded is readable.</summary>
public sealed class DetachTests
{
    static void WaitForFile(string path, RunningProcess memprof)
    {
        var sw = Stopwatch.StartNew();
        while (!(File.Exists(path) && new FileInfo(path).Length > 4096))
        {
            if (memprof.HasExited) Assert.Fail(memprof.WaitForExit(TimeSpan.FromSeconds(10)).Describe("exited early"));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), "no recording appeared");
            Thread.Sleep(50);
        }
    }

    [Fact]
    public void SIGTERM_to_memprof_detaches_and_keeps_the_recording()
    {
        RootRequired.Check();
        using var target = ServeTarget.Start("allocs-fp");
        var dir = Directory.CreateTempSubdirectory("memprof-term");
        var output = Path.Combine(dir.FullName, "t.memprof");
        try
        {
            using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--pid", target.Id.ToString(), "-o", output);
            // Written aside while it grows, renamed once complete.
            WaitForFile(output + ".partial", memprof);
            Thread.Sleep(1000);
            ProcessRunner.RunChecked("kill", ["-TERM", memprof.Id.ToString()]);
            memprof.WaitForExit(TimeSpan.FromSeconds(30)).EnsureSuccess();
            Assert.False(target.HasExited, "the target died");
            ProbeChecks.AssertCodeUnpatched(target.Id);
            var recording = RecordingReader.Read(output);
            Assert.NotNull(recording.Footer);
            Assert.True(recording.Events.Count > 50);
            Assert.False(File.Exists(output + ".partial"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void SIGKILL_of_memprof_leaves_no_probe_and_a_readable_recording()
    {
        RootRequired.Check();
        using var target = ServeTarget.Start("allocs-fp");
        var dir = Directory.CreateTempSubdirectory("memprof-kill");
        var output = Path.Combine(dir.FullName, "k.memprof");
        try
        {
            using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--pid", target.Id.ToString(), "-o", output);
            WaitForFile(output + ".partial", memprof);
            Thread.Sleep(1500);
            memprof.Kill();
            Thread.Sleep(300);
            Assert.False(target.HasExited, "the target died");
            ProbeChecks.AssertCodeUnpatched(target.Id);
            // Killed, memprof leaves what it flushed under the partial name, never an incomplete
            // file under the recording's own.
            Assert.False(File.Exists(output));
            var recording = RecordingReader.Read(output + ".partial");
            Assert.True(recording.Events.Count > 50, $"{recording.Events.Count} events survived");
            Assert.NotEmpty(recording.Warnings);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>memprof alone SIGKILLed (as the OOM killer does), not its process tree: the probe
    /// guard it started for the attached process sees memprof's end without "done", takes out what
    /// a kill inside a probe's release may have left, and exits; the target runs on unprobed.</summary>
    [Fact]
    public void SIGKILL_of_memprof_alone_ends_its_probe_guard_and_leaves_the_target_unprobed()
    {
        RootRequired.Check();
        using var target = ServeTarget.Start("allocs-fp");
        var dir = Directory.CreateTempSubdirectory("memprof-guard");
        var output = Path.Combine(dir.FullName, "g.memprof");
        try
        {
            using var memprof = CliRunner.StartOwnProcess("record", "--mode", "probe", "--pid", target.Id.ToString(), "-o", output);
            WaitForFile(output + ".partial", memprof);
            int guard = GuardOf(memprof.Id);
            Thread.Sleep(500);

            ProcessRunner.RunChecked("kill", ["-KILL", memprof.Id.ToString()]);
            memprof.WaitForExit(TimeSpan.FromSeconds(30));

            var clock = Stopwatch.StartNew();
            while (Collectors.Linux.Procfs.ProcessState.IsAlive(guard))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the probe guard (pid {guard}) still runs 30 s after memprof was killed");
                Thread.Sleep(20);
            }
            Assert.False(target.HasExited, "the target died");
            ProbeChecks.AssertCodeUnpatched(target.Id);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The probe guard memprof started: its child with the guard's verb.</summary>
    static int GuardOf(int memprof)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            // Each thread's children, as the kernel lists them: whichever thread started the guard.
            foreach (var task in Directory.EnumerateDirectories($"/proc/{memprof}/task"))
            {
                string children;
                try { children = File.ReadAllText(Path.Combine(task, "children")); }
                catch (IOException) { continue; }
                foreach (var child in children.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(int.Parse))
                    if (Collectors.Linux.Procfs.ProcessState.Command(child)?.Split(' ').Contains(Collectors.Linux.Bpf.ProbeGuard.Verb) == true)
                        return child;
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"memprof (pid {memprof}) started no probe guard");
            Thread.Sleep(20);
        }
    }

    [Fact]
    public void A_target_killed_mid_recording_ends_the_recording_cleanly()
    {
        RootRequired.Check();
        using var target = ServeTarget.Start("allocs-fp");
        var dir = Directory.CreateTempSubdirectory("memprof-victim");
        var output = Path.Combine(dir.FullName, "v.memprof");
        try
        {
            using var killer = new Timer(_ => target.Kill(), null, 1500, Timeout.Infinite);
            // Probes: memprof runs in this process, whose reaping of its children would swallow ptrace stops.
            var result = CliRunner.Run("record", "--mode", "probe", "--rate", "1", "--pid", target.Id.ToString(), "-o", output, "--no-firefox");
            Assert.True(result.ExitCode == 0, result.Stderr);
            var recording = RecordingReader.Read(output);
            Assert.NotNull(recording.Footer);
            Assert.True(recording.Events.Count > 50);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
