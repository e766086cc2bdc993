using System.Diagnostics;
using Profiler.Collectors.Linux.Inject;
using Xunit.Abstractions;

namespace Profiler.Integration.Tests.Inject;

/// <summary>`memprof record --pid --mode inject` attached and detached again and again to a
/// server whose threads allocate without pause and come and go (every other time with shared
/// rings): it never notices, and keeps no mapping of the rings.</summary>
public sealed class AttachCyclesTests(ITestOutputHelper log)
{
    const int Workers = 16;

    /// <summary>Each cycle is a memprof process of its own: ~3 s on a 2-CPU machine that the
    /// server's 16 threads keep busy, ~6 s with other work at load 30 (memprof raises its threads
    /// above the server's, which otherwise starved it to 5–30 s a cycle). MEMPROF_ATTACH_CYCLES=N runs another number; bench/attach-cycles.sh
    /// runs them from a shell.</summary>
    static int Cycles =>
        int.TryParse(Environment.GetEnvironmentVariable("MEMPROF_ATTACH_CYCLES"), out int n) && n > 0 ? n : 100;

    [Fact]
    public void Repeated_injected_attach_and_detach_leaves_a_busy_threaded_server_whole()
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-attach-cycles");
        string server = Path.Combine(dir.FullName, "churn_server");
        ProcessRunner.RunChecked("cc", ["-Wall", "-Wextra", "-Werror", "-O2", "-pthread", "-o", server,
            Path.Combine(RepoPaths.Root, "tests", "Profiler.Integration.Tests", "Inject", "churn_server.c")]);
        using var target = new DetachedTarget(server, Workers.ToString(), DetachedTarget.Stop);
        target.WaitReady();
        using var memory = ProcMemory.Open(target.Pid);
        var original = InjectAttachTests.Slots(target.Pid, memory);
        Assert.NotEmpty(original);
        var threadsSeen = new HashSet<int>(TargetChecks.Threads(target.Pid));
        var firstThreads = threadsSeen.ToHashSet();
        string output = Path.Combine(dir.FullName, "cycle.memprof");
        var seconds = new List<double>();

        for (int cycle = 0; cycle < Cycles; cycle++)
        {
            var clock = Stopwatch.StartNew();
            // The sampler maps shared rings at the attach and unmaps them at the detach, while its
            // threads come and go: at the default rate and at 16 KiB; every third cycle the rings are
            // turned off (MEMPROF_RINGS=off) and samples trap on the markers.
            bool rings = cycle % 3 != 2;
            var environment = new Dictionary<string, string?> { ["MEMPROF_RINGS"] = rings ? null : "off" };
            using var memprof = CliRunner.StartOwnProcess(environment, ["record", "--mode", "inject", .. cycle % 3 == 1 ? new[] { "--rate", "16KiB" } : [],
                "--pid", target.Pid.ToString(), "--duration", "300ms", "--no-firefox", "-o", output]);
            var result = memprof.WaitForExit(TimeSpan.FromSeconds(60));
            seconds.Add(clock.Elapsed.TotalSeconds);
            string what = $"cycle {cycle + 1} of {Cycles}: exit {result.ExitCode}\n{result.Stderr}";
            Assert.True(result.ExitCode == 0, what);
            Assert.Contains("in-process sampling injected into the running process", result.Stderr);
            if (cycle > 0) Assert.Contains("sampler already loaded", result.Stderr);
            if (rings) Assert.Contains("events through shared rings", result.Stderr);
            else Assert.DoesNotContain("shared rings", result.Stderr);
            // No mapping of the rings is left behind, cycle after cycle.
            Assert.DoesNotContain(File.ReadAllLines($"/proc/{target.Pid}/maps"), l => l.Contains("memprof-rings", StringComparison.Ordinal));
            Assert.True(target.Running, $"{what}\nthe server died: {target.Errors}");
            var now = InjectAttachTests.Slots(target.Pid, memory);
            var moved = original.Where(s => !now.TryGetValue(s.Key, out ulong v) || v != s.Value)
                .Select(s => $"slot 0x{s.Key:x}: 0x{s.Value:x} -> {(now.TryGetValue(s.Key, out ulong v) ? $"0x{v:x}" : "gone")}").ToList();
            Assert.True(moved.Count == 0 && now.Count == original.Count, $"{what}\nslots not as before:\n{string.Join("\n", moved)}");
            Assert.True(TargetChecks.AssertSymbolTablesMatchFiles(target.Pid) >= 2);
            threadsSeen.UnionWith(TargetChecks.Threads(target.Pid));
        }

        TargetChecks.AssertLeftClean(target.Pid);
        ProbeChecks.AssertCodeUnpatched(target.Pid);
        // Threads started and ended while memprof came and went.
        Assert.True(threadsSeen.Count - firstThreads.Count >= Cycles, $"only {threadsSeen.Count - firstThreads.Count} new threads seen");
        Assert.Single(File.ReadAllLines($"/proc/{target.Pid}/maps").Where(l => l.EndsWith("/libmemprof_inject.so", StringComparison.Ordinal)).Select(l => l.Split(' ')[^1]).Distinct());
        var (exitCode, said) = target.Finish();
        Assert.True(exitCode == 0, $"exit {exitCode}: {said}{target.Errors}");
        Assert.Equal("", target.Errors);
        var lines = said.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal(["ready", $"ok workers={Workers}"], lines[..2]);
        var transient = System.Text.RegularExpressions.Regex.Match(lines[2], @"^transient started=(\d+) ended=(\d+)$");
        Assert.True(transient.Success, said);
        Assert.Equal(transient.Groups[1].Value, transient.Groups[2].Value);
        Assert.True(long.Parse(transient.Groups[1].Value) >= Cycles, said);
        Assert.Matches(@"^checked=[1-9]\d{5,}$", lines[3]);
        log.WriteLine($"{Cycles} attach/detach cycles: {seconds.Sum():0.0} s, {seconds.Average():0.00} s each (max {seconds.Max():0.00} s)");
        log.WriteLine(string.Join(" ", seconds.Select(s => s.ToString("0.00"))));
        dir.Delete(recursive: true);
    }
}
