using Profiler.Collectors.Linux.Inject;

namespace Profiler.Integration.Tests.Inject;

/// <summary>A detach that cannot stop the target's threads (another tracer holds one of them) leaves
/// the allocator slots going through the sampler: memprof says so and fails, and the next attach
/// takes those slots over and puts them back.</summary>
public sealed class LeftRedirectedTests
{
    [Fact]
    public void A_detach_that_cannot_stop_a_thread_fails_loudly_and_the_next_attach_restores_the_slots()
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-left-redirected");
        string server = Path.Combine(dir.FullName, "churn_server"), holder = Path.Combine(dir.FullName, "hold_thread");
        foreach (var (program, source) in new[] { (server, "churn_server.c"), (holder, "hold_thread.c") })
            ProcessRunner.RunChecked("cc", ["-Wall", "-Wextra", "-Werror", "-O2", "-pthread", "-o", program,
                Path.Combine(RepoPaths.Root, "tests", "Profiler.Integration.Tests", "Inject", source)]);
        using var target = new DetachedTarget(server, "4", DetachedTarget.Stop);
        target.WaitReady();
        using var memory = ProcMemory.Open(target.Pid);
        var original = InjectAttachTests.Slots(target.Pid, memory);
        Assert.NotEmpty(original);
        var reaches = InjectAttachTests.Reaches(target.Pid, memory);
        // A worker: it allocates without pause and never waits, so no signal of memprof's is aimed at it.
        int worker = TargetChecks.Threads(target.Pid).Where(t => t != target.Pid).Min();
        string output = Path.Combine(dir.FullName, "left.memprof");

        ProcessResult first;
        using (var memprof = CliRunner.StartOwnProcess(["record", "--mode", "inject", "--pid", target.Pid.ToString(), "--duration", "5s", "--no-firefox", "-o", output]))
        {
            // Attached once the slots point elsewhere; then the worker is held until memprof has ended.
            var attached = System.Diagnostics.Stopwatch.StartNew();
            while (Same(original, InjectAttachTests.Slots(target.Pid, memory)) && attached.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(20);
            Assert.False(Same(original, InjectAttachTests.Slots(target.Pid, memory)), "the slots were never redirected");
            using var hold = ProcessRunner.Start(holder, [worker.ToString()]);
            Assert.Equal("held", hold.ReadLine(TimeSpan.FromSeconds(30)));
            first = memprof.WaitForExit(TimeSpan.FromSeconds(120));
            Assert.False(Same(original, InjectAttachTests.Slots(target.Pid, memory)), $"the slots came back though the worker was held:\n{first.Stderr}");
        }

        Assert.True(first.ExitCode == 70, $"exit {first.ExitCode}\n{first.Stderr}");
        Assert.Contains($"detaching from process {target.Pid} left its allocator calls going through memprof's sampler (allocations definitions left redirected (ptrace refused to stop thread {worker}: Operation not permitted", first.Stderr);
        Assert.Contains($"the next `memprof record --pid {target.Pid}` takes them over and puts them back", first.Stderr);
        // The recording itself is complete and kept.
        Assert.True(File.Exists(output), first.Stderr);
        Assert.True(target.Running, target.Errors);

        // The holder is gone: the next recording takes the slots over, and its detach puts them back.
        var second = CliRunner.StartOwnProcess(["record", "--mode", "inject", "--pid", target.Pid.ToString(), "--duration", "300ms", "--no-firefox", "-o", output])
            .WaitForExit(TimeSpan.FromSeconds(120));
        Assert.True(second.ExitCode == 0, $"exit {second.ExitCode}\n{second.Stderr}");
        Assert.Contains("taken over from an earlier recording that left them going to it", second.Stderr);
        var now = InjectAttachTests.Slots(target.Pid, memory);
        var moved = InjectAttachTests.SlotsMoved(original, reaches, now);
        Assert.True(moved.Count == 0 && now.Count == original.Count, $"{second.Stderr}\n{string.Join("\n", moved)}");
        // Bound slots are exactly as before.
        Assert.Contains(original, s => reaches.GetValueOrDefault(s.Key) == s.Value && now[s.Key] == s.Value);
        Assert.True(TargetChecks.AssertSymbolTablesMatchFiles(target.Pid) >= 2);

        var (exitCode, said) = target.Finish();
        Assert.True(exitCode == 0, $"exit {exitCode}: {said}{target.Errors}");
        Assert.StartsWith("ready\nok workers=4\n", said);
        dir.Delete(recursive: true);
    }

    static bool Same(Dictionary<ulong, ulong> original, Dictionary<ulong, ulong> now) =>
        original.Count == now.Count && original.All(s => now.TryGetValue(s.Key, out ulong v) && v == s.Value);
}
