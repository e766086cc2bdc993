using Profiler.Core.Recording;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>In-process sampling (the preload library): exact at --rate 1 with the same stacks as
/// the probe path, exact counters, and a program that threads, forks, execs, dlopens and
/// allocates in signal handlers runs unharmed under it.</summary>
public sealed class PreloadTests
{
    [Theory]
    [InlineData("allocs-fp", "preload")]
    [InlineData("allocs-nofp", "preload")]
    [InlineData("allocs-fp", "probe")]
    public void Every_manifest_site_is_exact_at_rate_1(string variant, string mode)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(variant);
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-preload");
        var output = Path.Combine(dir.FullName, "allocs.memprof");
        var result = CliRunner.Run("record", "--rate", "1", "--mode", mode, "--no-firefox", "-o", output, "--", sample);
        Assert.True(result.ExitCode == 0, result.Stderr);
        if (mode == "preload") Assert.Contains("in-process sampling (preload library", result.Stderr);
        else Assert.DoesNotContain("in-process sampling", result.Stderr);

        var model = RecordingLoader.Load(output, TextWriter.Null);
        var problems = SiteTotals.Mismatches(manifest, SiteTotals.Of(model)).ToList();
        // The exact counters cover every call, the sampled path's own included.
        var raw = RecordingReader.Read(output);
        var last = raw.Counters.Where(c => c.Pid == raw.Header.TargetPid).MaxBy(c => c.TimeNanos);
        Assert.NotNull(last);
        long manifestCalls = manifest.Sum(s => s.Allocations), manifestBytes = manifest.Sum(s => s.AllocatedBytes);
        if ((long)last.Allocations < manifestCalls || (long)last.AllocatedBytes < manifestBytes)
            problems.Add($"counters {last.Allocations} calls / {last.AllocatedBytes} B below the manifest's {manifestCalls} / {manifestBytes}");
        // std's runtime allocates a little on its own; anything more means calls were counted twice.
        if ((long)last.Allocations > manifestCalls + 64)
            problems.Add($"counters {last.Allocations} calls, far above the manifest's {manifestCalls}");
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void A_command_that_drops_the_preload_library_before_exec_is_probed_instead()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-fp");
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-preload-dropped");
        var output = Path.Combine(dir.FullName, "env.memprof");
        // env runs with the library, then execs the sample without it, in the same process. Its
        // every call then traps with a stack copy into the kernel's buffer, which beside the shared
        // rings is 16 MiB: a burst may outrun memprof's unwinding (said as LOST, not checked here);
        // what this checks is that the calls are probed and counted right, so the buffer is sized
        // for a trap per call, as without the rings.
        var result = CliRunner.Run("record", "--rate", "1", "--buffer", "64MiB", "--no-firefox", "-o", output, "--", "/usr/bin/env", "-u", "LD_PRELOAD", sample);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var problems = SiteTotals.Mismatches(manifest, SiteTotals.Of(RecordingLoader.Load(output, TextWriter.Null))).ToList();
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_stress_program_runs_100_times_unharmed_and_its_calls_are_counted()
    {
        RootRequired.Check();
        var stress = RepoPaths.Sample("stress");
        var dir = Directory.CreateTempSubdirectory("memprof-stress");

        // 100 runs, each a new process with the library (inherited LD_PRELOAD), sampling densely
        // so the address set, its locks and the signal handler's calls are exercised.
        string script = $"i=0; while [ $i -lt 100 ]; do '{stress}' 1 > /dev/null || exit 1; i=$((i+1)); done";
        var many = CliRunner.Run("record", "--rate", "4KiB", "--no-follow", "--no-firefox", "-o", Path.Combine(dir.FullName, "many.memprof"),
            "--", "/bin/sh", "-c", script);
        Assert.True(many.ExitCode == 0, $"exit {many.ExitCode}: {many.Stderr}");

        // One run followed with its children: every process's counters are read and the
        // program's own count of its calls is a lower bound of its process's.
        var report = Path.Combine(dir.FullName, "stress.out");
        var output = Path.Combine(dir.FullName, "stress.memprof");
        var one = CliRunner.Run("record", "--rate", "16KiB", "--no-firefox", "-o", output, "--", "/bin/sh", "-c", $"'{stress}' 3 > '{report}'");
        Assert.True(one.ExitCode == 0, $"exit {one.ExitCode}: {one.Stderr}");
        var line = File.ReadAllText(report).Trim();
        Assert.StartsWith("ok allocations=", line);
        long calls = long.Parse(line.Split(' ')[1].Split('=')[1]);
        var raw = RecordingReader.Read(output);
        var perProcess = raw.Counters.GroupBy(c => c.Pid).Select(g => g.MaxBy(c => c.TimeNanos)!).ToList();
        Assert.Contains(perProcess, c => (long)c.Allocations >= calls && (long)c.Allocations < calls + 10_000);
        // Its forked children are processes of their own in the recording.
        Assert.True(raw.Forks.Count >= 6, $"{raw.Forks.Count} forks recorded");
        Assert.True(raw.Exits.All(e => e.ExitCode == 0), string.Join(", ", raw.Exits.Select(e => $"{e.Pid}: {e.ExitCode}")));
        dir.Delete(recursive: true);
    }

    [Fact]
    public void A_program_over_another_allocator_keeps_it_and_is_sampled_through_it()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-jemalloc-dyn");
        var dir = Directory.CreateTempSubdirectory("memprof-preload-jemalloc");
        var result = CliRunner.Run("record", "--rate", "1", "--mode", "preload", "--no-firefox", "-o", Path.Combine(dir.FullName, "dyn.memprof"), "--", sample, "leak");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("in-process sampling through libjemalloc.so.2's allocator (preload library", result.Stderr);
        Assert.DoesNotContain("probing", result.Stderr);
        dir.Delete(recursive: true);
    }

    [Fact]
    public void A_child_over_another_allocator_keeps_it_under_the_inherited_library_and_is_sampled_through_it()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-jemalloc-dyn");
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-preload-forward");
        var output = Path.Combine(dir.FullName, "sh.memprof");
        // The shell samples in-process; the child it forks inherits LD_PRELOAD, and the library
        // there samples through libjemalloc (not probed).
        var result = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", output, "--", "/bin/sh", "-c", $"'{sample}'; true");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("in-process sampling (preload library", result.Stderr);
        var problems = SiteTotals.Mismatches(manifest, SiteTotals.Of(RecordingLoader.Load(output, TextWriter.Null))).ToList();
        var raw = RecordingReader.Read(output);
        long manifestCalls = manifest.Sum(s => s.Allocations);
        if (!raw.Counters.Any(c => c.Pid != raw.Header.TargetPid && (long)c.Allocations >= manifestCalls))
            problems.Add($"no child process has counters of at least the manifest's {manifestCalls} calls");
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Attaching_in_preload_mode_is_refused_with_a_usage_error()
    {
        RootRequired.Check();
        var result = CliRunner.Run("record", "--mode", "preload", "--pid", Environment.ProcessId.ToString(), "--no-firefox", "-o", "/dev/null");
        Assert.Equal((int)Core.ExitCode.UsageError, result.ExitCode);
        Assert.Contains("--mode preload samples inside a program memprof launches", result.Stderr);
    }
}
