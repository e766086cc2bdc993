using Profiler.Core.Analysis;
using Profiler.Core.Recording;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>Programs over Debian's libjemalloc.so.2 (profiling compiled in, the library stripped,
/// so its sampled path cannot be probed): launched, they are sampled in process by the preload
/// library through libjemalloc's own functions. redis-server launched, driven by redis-benchmark and
/// shut down under memprof, and allocs-jemalloc-dyn against its manifest.</summary>
public sealed class DebianJemallocTests
{
    const string SampledThrough = "in-process sampling through libjemalloc.so.2's allocator";

    [Fact]
    public void Allocs_over_the_shared_libjemalloc_is_recorded_exactly_in_process_at_rate_1()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-jemalloc-dyn");
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-jemalloc-dyn-exact");
        var output = Path.Combine(dir.FullName, "dyn.memprof");
        var result = ExactRecording.Run(output, "record", "--rate", "1", "--no-firefox", "-o", output, "--", sample);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var problems = new List<string>();
        if (!result.Stderr.Contains(SampledThrough, StringComparison.Ordinal) || result.Stderr.Contains("probing", StringComparison.Ordinal))
            problems.Add($"summary: {result.Stderr}");
        var raw = RecordingReader.Read(output);
        if (!raw.Header.Mode.Contains(SampledThrough, StringComparison.Ordinal)) problems.Add($"header mode: {raw.Header.Mode}");
        problems.AddRange(SiteTotals.Mismatches(manifest, SiteTotals.Of(RecordingLoader.Load(output, TextWriter.Null))));
        problems.AddRange(UnpairedFrees(raw));
        // The library counted every call, with libjemalloc's usable sizes: the live heap is known.
        var last = raw.Counters.Where(c => c.Pid == raw.Header.TargetPid).MaxBy(c => c.TimeNanos);
        long calls = manifest.Sum(s => s.Allocations);
        if (last is null || (long)last.Allocations < calls || (long)last.Allocations > calls + 200 || !last.LiveBytesKnown)
            problems.Add($"counters {last?.Allocations} allocations (live known: {last?.LiveBytesKnown}), manifest {calls}");
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Allocs_over_the_shared_libjemalloc_is_estimated_within_sampling_error_at_a_sampled_rate()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-jemalloc-dyn");
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-jemalloc-dyn-sampled");
        var output = Path.Combine(dir.FullName, "dyn.memprof");
        var result = CliRunner.Run("record", "--rate", "4KiB", "--no-firefox", "-o", output, "--", sample);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var problems = new List<string>();
        // Recognised, and sampled in process instead of probed.
        if (!result.Stderr.Contains("libjemalloc.so.2 has jemalloc's profiling compiled in", StringComparison.Ordinal) ||
            !result.Stderr.Contains(SampledThrough, StringComparison.Ordinal) || result.Stderr.Contains("probing", StringComparison.Ordinal))
            problems.Add($"summary: {result.Stderr}");
        var sites = SiteTotals.Of(RecordingLoader.Load(output, TextWriter.Null));
        var raw = RecordingReader.Read(output);
        var last = raw.Counters.Where(c => c.Pid == raw.Header.TargetPid).MaxBy(c => c.TimeNanos);
        long calls = manifest.Sum(s => s.Allocations), bytes = manifest.Sum(s => s.AllocatedBytes);
        if (last is null || (long)last.Allocations < calls || (long)last.Allocations > calls + 200 || (long)last.AllocatedBytes < bytes)
            problems.Add($"counters {last?.Allocations}/{last?.AllocatedBytes} B, manifest {calls}/{bytes} B");
        // At 4 KiB a ≥ 1 MB site has ≥ 250 samples: ±25 % is over 4 standard errors.
        foreach (var group in manifest.GroupBy(s => s.Function).Where(g => g.Sum(s => s.AllocatedBytes) >= 1_000_000))
        {
            long truth = group.Sum(s => s.AllocatedBytes), estimate = sites.GetValueOrDefault(group.Key)?.AllocatedBytes ?? 0;
            if (Math.Abs(estimate - truth) > truth / 4) problems.Add($"{group.Key}: estimated {estimate:N0} B, true {truth:N0} B");
        }
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    const string Server = "/usr/bin/redis-server";

    [Fact]
    public void Redis_server_is_recorded_its_jemalloc_named_and_its_sampled_totals_plausible()
    {
        RootRequired.Check();
        Profiler.Tests.Elf.SystemTools.Require(["redis-benchmark", "redis-cli"], Server);
        var dir = Directory.CreateTempSubdirectory("memprof-redis");
        var output = Path.Combine(dir.FullName, "redis.memprof");
        string port = Random.Shared.Next(20_000, 60_000).ToString();
        using var memprof = CliRunner.StartOwnProcess("record", "--rate", "16KiB", "--no-firefox", "-o", output, "--",
            Server, "--port", port, "--save", "", "--appendonly", "no");
        string Cli(params string[] args) => Profiler.Tests.Elf.SystemTools.Run("redis-cli", ["-p", port, .. args]);
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!PingAnswers(port))
        {
            Assert.False(memprof.HasExited || started.Elapsed > TimeSpan.FromSeconds(90), $"redis-server did not answer: {memprof.StandardErrorSoFar}\n{memprof.StandardOutputSoFar}");
            Thread.Sleep(200);
        }
        Profiler.Tests.Elf.SystemTools.Run("redis-benchmark", "-p", port, "-q", "-n", "20000", "-t", "set,get,lpush");
        long usedMemory = long.Parse(Cli("info", "memory").Split('\n').First(l => l.StartsWith("used_memory:", StringComparison.Ordinal))["used_memory:".Length..].Trim());
        Cli("shutdown", "nosave");
        var result = memprof.WaitForExit(TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.Stderr);

        var problems = new List<string>();
        const string Recognised = "libjemalloc.so.2 has jemalloc's profiling compiled in";
        if (!result.Stderr.Contains(Recognised, StringComparison.Ordinal) || !result.Stderr.Contains(SampledThrough, StringComparison.Ordinal))
            problems.Add($"summary: {result.Stderr}");
        var raw = RecordingReader.Read(output);
        if (!raw.Header.Mode.Contains(Recognised, StringComparison.Ordinal) || !raw.Header.Mode.Contains(SampledThrough, StringComparison.Ordinal) ||
            raw.Header.Mode.Contains("probing", StringComparison.Ordinal))
            problems.Add($"header mode: {raw.Header.Mode}");
        var model = RecordingLoader.Load(output, TextWriter.Null);
        var heap = HeapAnalysis.Compute(model).Totals;
        var counters = raw.Counters.Where(c => c.Pid == raw.Header.TargetPid).MaxBy(c => c.TimeNanos);
        // The preload library counts every call exactly; the samples' estimate of the bytes lies
        // within sampling error of that count (~600 samples at 16 KiB: ±20 % is over 4 standard errors).
        long estimated = 0;
        for (int i = 0; i < model.Events.Count; i++)
            if (model.Events.Kind[i] == EventKind.Alloc) estimated += (long)model.Events.Weight[i];
        if (counters is null) problems.Add("no counters");
        else if (Math.Abs(estimated - (long)counters.AllocatedBytes) > (long)counters.AllocatedBytes / 5)
            problems.Add($"estimated {estimated:N0} B allocated, counted {counters.AllocatedBytes:N0} B");
        // redis's own count of its live bytes after the benchmark is at most the heap's peak.
        if (heap.PeakBytes < usedMemory / 2 || (counters is not null && heap.PeakBytes > (long)counters.AllocatedBytes))
            problems.Add($"estimated peak {heap.PeakBytes:N0} B against redis's used_memory {usedMemory:N0} B");
        // The sites are redis-server's functions (zmalloc and the functions calling it).
        var siteModules = new Dictionary<string, long>();
        for (int i = 0; i < model.Events.Count; i++)
        {
            if (model.Events.Kind[i] != EventKind.Alloc || SiteAnalysis.SiteOf(model.Tables, model.Events.Stack[i]) is not { } site) continue;
            var function = model.Tables.Function(site);
            string where = function.Module is { } m ? model.Tables.Module(m).Name : "?";
            siteModules[where] = siteModules.GetValueOrDefault(where) + (long)model.Events.Weight[i];
        }
        // Debian installs redis-server as a link to redis-check-rdb, the one executable.
        string executable = Path.GetFileName(Path.GetFullPath(new FileInfo(Server).ResolveLinkTarget(true)?.FullName ?? Server));
        if (siteModules.GetValueOrDefault(executable) < estimated * 9 / 10)
            problems.Add($"bytes by site module: {string.Join(", ", siteModules.Select(kv => $"{kv.Key} {kv.Value:N0}"))}");
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>Frees, in recording order, of an address that no earlier allocation left live, told
    /// with what else is known of their address.</summary>
    static IEnumerable<string> UnpairedFrees(RawRecording recording)
    {
        var ev = recording.Events;
        var live = new Dictionary<(uint, ulong), int>();
        for (int i = 0; i < ev.Count; i++)
        {
            var key = (ev.Pid[i], ev.Address[i]);
            if (ev.Kind[i] == EventKind.Alloc) live[key] = i;
            else if (ev.Kind[i] == EventKind.Free && !live.Remove(key))
            {
                int later = Enumerable.Range(i + 1, ev.Count - i - 1).FirstOrDefault(j => ev.Kind[j] == EventKind.Alloc && ev.Address[j] == ev.Address[i], -1);
                yield return $"free #{i} of 0x{ev.Address[i]:x} ({ev.Function[i]}, tid {ev.Tid[i]}, t={ev.TimeNanos[i]}) is unpaired; " +
                             (later < 0 ? "never allocated after" : $"allocated after by #{later} ({ev.Function[later]}, tid {ev.Tid[later]}, t={ev.TimeNanos[later]})");
            }
        }
    }

    static bool PingAnswers(string port)
    {
        var ping = ProcessRunner.Run("redis-cli", ["-p", port, "ping"]);
        return ping.ExitCode == 0 && ping.Stdout.Trim() == "PONG";
    }
}
