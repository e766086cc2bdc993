using Profiler.Core.Recording;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>Attaching to a running program whose static jemalloc has profiling compiled in: memprof
/// reads jemalloc's own globals (opt_prof, prof_active, opt_lg_prof_sample) to decide whether its
/// sampled path can replace the probes on every call.</summary>
public sealed class JemallocAttachTests
{
    const string ServeSite = "allocs::serve_tick";

    /// <summary>lg_prof_sample 19 is jemalloc's default; 13 shows the value is read from the process
    /// (and gives enough samples in a short run: serve allocates ~0.4 MB/s).</summary>
    [Theory]
    [InlineData(19, 12)]
    [InlineData(13, 3)]
    public void Attach_uses_jemalloc_profiling_when_the_process_runs_it(int lgSample, int seconds)
    {
        RootRequired.Check();
        var (recording, model) = AttachToServe($"prof:true,prof_active:true,lg_prof_sample:{lgSample}", seconds);
        Assert.Contains($"jemalloc profiling (lg_prof_sample {lgSample})", recording.Header.Mode);

        var ev = recording.Events;
        var samples = Enumerable.Range(0, ev.Count).Where(i => ev.Kind[i] == EventKind.Alloc).ToList();
        // About 0.4 MB/s at 2^19 gives ~9 samples in 12 s (Poisson: 5 or more only 94 % of the time);
        // at 2^13 ~150 in 3 s.
        int minimum = lgSample >= 19 ? 1 : 20;
        Assert.True(samples.Count >= minimum, $"only {samples.Count} samples in {seconds} s");
        // jemalloc picks a block of s bytes with probability 1 - e^(-s/R), R = 2^lg: a sample of serve's
        // small blocks stands for about R bytes, whatever --rate says.
        double rate = Math.Pow(2, lgSample);
        Assert.All(samples, i => Assert.InRange((double)ev.Weight[i], rate * 0.9, rate * 1.1 + ev.Size[i]));
        var site = SiteTotals.Of(model).GetValueOrDefault(ServeSite);
        Assert.True(site is { Allocations: > 0 }, $"no sample has {ServeSite} in its stack");
        // Only jemalloc's sampled path is probed: no exact counters of every call.
        Assert.DoesNotContain(recording.Counters, c => c.Pid == recording.Header.TargetPid && c.Allocations > 0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("prof:true,prof_active:false")]
    public void Attach_falls_back_to_probing_every_call_when_profiling_is_inactive(string conf)
    {
        RootRequired.Check();
        var (recording, model) = AttachToServe(conf, seconds: 3, "--rate", "16KiB");
        Assert.Contains("jemalloc profiling inactive", recording.Header.Mode);
        Assert.Contains("falling back to probing every call", recording.Header.Mode);

        // Every call is trapped: the exact counters see serve's 5 allocations per ~10 ms tick.
        var counters = recording.Counters.Last(c => c.Pid == recording.Header.TargetPid);
        Assert.InRange((long)counters.Allocations, 5 * 100, 5 * 330);
        var site = SiteTotals.Of(model).GetValueOrDefault(ServeSite);
        Assert.True(site is { Allocations: > 0 }, $"no sample has {ServeSite} in its stack");
    }

    [Fact]
    public void Rate_one_probes_every_call_even_when_the_process_samples()
    {
        RootRequired.Check();
        var (recording, model) = AttachToServe("prof:true,prof_active:true", seconds: 2, "--rate", "1");
        Assert.Contains("jemalloc profiling not used (--rate 1", recording.Header.Mode);
        var counters = recording.Counters.Last(c => c.Pid == recording.Header.TargetPid);
        var site = SiteTotals.Of(model).GetValueOrDefault(ServeSite);
        // Each of serve's allocations is an event of its own, as the exact counters count them.
        Assert.True(site is not null && site.Allocations >= (long)counters.Allocations - 10 && counters.Allocations > 300,
            $"{site?.Allocations} allocations recorded at {ServeSite}, {counters.Allocations} counted");
    }

    /// <summary>Starts `allocs-jemalloc-prof serve` with the given jemalloc configuration, records it
    /// by pid for the given time and checks it kept running.</summary>
    static (RawRecording Recording, Core.Model.ProfileModel Model) AttachToServe(string conf, int seconds, params string[] extra)
    {
        using var target = ServeTarget.Start("allocs-jemalloc-prof", new ProcessOptions().WithEnvironment("_RJEM_MALLOC_CONF", conf));
        var dir = Directory.CreateTempSubdirectory("memprof-jeprof-attach");
        try
        {
            var output = Path.Combine(dir.FullName, "serve.memprof");
            var result = CliRunner.Run(["record", "--pid", target.Id.ToString(), "--duration", $"{seconds}s", "--no-firefox", "-o", output, .. extra]);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Thread.Sleep(100);
            Assert.False(target.HasExited, "the target died");
            return (RecordingReader.Read(output), RecordingLoader.Load(output, TextWriter.Null));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
