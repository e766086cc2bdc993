using Profiler.Core.Recording;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>A command launched through a shell or a wrapper script keeps in-process sampling in
/// the programs it runs: the preload library is inherited through the environment, and only a
/// program that cannot take it (statically linked here) is probed, said once by name.</summary>
public sealed class WrapperTests
{
    const string InProcess = "in-process sampling (preload library";

    [Theory]
    [InlineData("1")]
    [InlineData("4KiB")]
    public void A_program_bash_execs_samples_in_process(string rate)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-fp");
        var dir = Directory.CreateTempSubdirectory("memprof-wrap-exec");
        var output = Path.Combine(dir.FullName, "exec.memprof");
        var result = CliRunner.Run("record", "--rate", rate, "--mode", "preload", "--no-firefox", "-o", output, "--", "bash", "-c", $"exec '{sample}'");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var problems = InProcessEverywhere(result.Stderr, output);
        // One process: the shell's pid became the sample by exec.
        problems.AddRange(SiteProblems(Manifest.Read(sample), output, RecordingReader.Read(output).Header.TargetPid, rate));
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("4KiB")]
    public void A_wrapper_script_running_two_programs_samples_both_in_process(string rate)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-fp");
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-wrap-script");
        string script = Path.Combine(dir.FullName, "wrap");
        // As pyenv's shims are: a bash script found through #!/usr/bin/env, here running two programs.
        File.WriteAllText(script, $"#!/usr/bin/env bash\n'{sample}' > /dev/null\nexec '{sample}'\n");
        Profiler.Tests.Elf.SystemTools.Run("chmod", "+x", script);
        var output = Path.Combine(dir.FullName, "wrap.memprof");
        var result = CliRunner.Run("record", "--rate", rate, "--mode", "preload", "--no-firefox", "-o", output, "--", script);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var problems = InProcessEverywhere(result.Stderr, output);
        var raw = RecordingReader.Read(output);
        var pids = raw.Execs.Where(e => e.Name == "allocs-fp").Select(e => e.Pid).Distinct().ToList();
        if (pids.Count != 2) problems.Add($"{pids.Count} processes ran allocs-fp, expected 2 (the forked one and the exec'd wrapper)");
        foreach (var pid in pids) problems.AddRange(SiteProblems(manifest, output, pid, rate).Select(p => $"pid {pid}: {p}"));
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void A_wrapper_running_a_static_program_says_why_once_and_probes_it()
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-wrap-static");
        string source = Path.Combine(dir.FullName, "st.c"), binary = Path.Combine(dir.FullName, "st");
        const int Blocks = 1000;
        File.WriteAllText(source, "#include <stdlib.h>\nvoid *volatile kept;\n" +
                                  $"int main(void){{for(int i=0;i<{Blocks};i++){{kept = malloc(100); free(kept);}} return 0;}}\n");
        Profiler.Tests.Elf.SystemTools.Run("gcc", "-static", "-O1", "-o", binary, source);
        var output = Path.Combine(dir.FullName, "static.memprof");
        // Three runs of the static program from one wrapper (two forked, one exec'd): one reason line.
        var result = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", output, "--", "bash", "-c", $"'{binary}'; '{binary}'; exec '{binary}'");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var problems = new List<string>();
        var lines = result.Stderr.Split('\n').Where(l => l.Contains("in-process sampling unavailable", StringComparison.Ordinal)).ToList();
        if (lines is not ["memprof: in-process sampling unavailable in st (statically linked): probing its allocator calls"])
            problems.Add($"reason lines: {string.Join(" | ", lines)}");
        var raw = RecordingReader.Read(output);
        if (!raw.Header.Mode.StartsWith(InProcess, StringComparison.Ordinal)) problems.Add($"header mode: {raw.Header.Mode}");
        // Each run's calls were probed: its counters have its allocations (plus libc's start-up few).
        var pids = raw.Execs.Where(e => e.Name == "st").Select(e => e.Pid).Distinct().ToList();
        if (pids.Count != 3) problems.Add($"{pids.Count} processes ran st, expected 3");
        foreach (var pid in pids)
        {
            var last = raw.Counters.Where(c => c.Pid == pid).MaxBy(c => c.TimeNanos);
            if (last is null || (long)last.Allocations < Blocks || (long)last.Allocations > Blocks + 20)
                problems.Add($"pid {pid}: counted {last?.Allocations.ToString() ?? "no"} allocations, it made {Blocks}");
        }
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>The summary and the recording's header name the preload library, and no program
    /// fell back to probes.</summary>
    static List<string> InProcessEverywhere(string stderr, string output)
    {
        var problems = new List<string>();
        var mode = RecordingReader.Read(output).Header.Mode;
        if (!mode.StartsWith(InProcess, StringComparison.Ordinal)) problems.Add($"header mode: {mode}");
        if (!stderr.Contains(InProcess, StringComparison.Ordinal)) problems.Add($"summary: {stderr}");
        if (stderr.Contains("unavailable", StringComparison.Ordinal) || stderr.Contains("probing every", StringComparison.Ordinal))
            problems.Add($"a fallback to probes: {stderr}");
        return problems;
    }

    /// <summary>At --rate 1 every site exact; sampled, the exact counters of the process match the
    /// manifest and each large site's estimate lies within sampling error.</summary>
    static IEnumerable<string> SiteProblems(IReadOnlyList<ManifestSite> manifest, string output, uint pid, string rate)
    {
        var sites = SiteTotals.Of(RecordingLoader.Load(output, TextWriter.Null), pid);
        if (rate == "1")
        {
            foreach (var problem in SiteTotals.Mismatches(manifest, sites)) yield return problem;
            yield break;
        }
        var raw = RecordingReader.Read(output);
        var last = raw.Counters.Where(c => c.Pid == pid).MaxBy(c => c.TimeNanos);
        long calls = manifest.Sum(s => s.Allocations), bytes = manifest.Sum(s => s.AllocatedBytes);
        if (last is null || (long)last.Allocations < calls || (long)last.Allocations > calls + 200 || (long)last.AllocatedBytes < bytes)
            yield return $"counters {last?.Allocations}/{last?.AllocatedBytes} B, manifest {calls}/{bytes} B";
        // At 4 KiB a ≥ 1 MB site has ≥ 250 samples: ±25 % is over 4 standard errors.
        foreach (var group in manifest.GroupBy(s => s.Function).Where(g => g.Sum(s => s.AllocatedBytes) >= 1_000_000))
        {
            long truth = group.Sum(s => s.AllocatedBytes), estimate = sites.GetValueOrDefault(group.Key)?.AllocatedBytes ?? 0;
            if (Math.Abs(estimate - truth) > truth / 4) yield return $"{group.Key}: estimated {estimate:N0} B, true {truth:N0} B";
        }
    }
}
