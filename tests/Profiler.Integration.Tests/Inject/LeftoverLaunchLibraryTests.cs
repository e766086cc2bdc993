using Profiler.Collectors.Linux.Preload;
using Profiler.Core.Recording;

namespace Profiler.Integration.Tests.Inject;

/// <summary>A process launched with memprof's launch sampler (LD_PRELOAD) whose recording was
/// killed: it still samples, at the rate it was started with. `--mode inject --rate 1` must not
/// record "rate 1, exact" on top of it: it refuses in one line, with injection's exit code, and
/// leaves the process as it was (no second sampler loaded, no slot touched).</summary>
public sealed class LeftoverLaunchLibraryTests(InjectPrograms programs) : IClassFixture<InjectPrograms>
{
    [Fact]
    public void Inject_refuses_a_process_that_carries_the_launch_sampler_and_leaves_it_alone()
    {
        RootRequired.Check();
        string preload = PreloadLibrary.Locate() ?? throw new InvalidOperationException("libmemprof_preload.so is not built");
        // The launch sampler as a killed launch recording left it: preloaded, sampling every 64 KiB.
        using var target = new DetachedTarget("/usr/bin/env", $"LD_PRELOAD={preload}", "MEMPROF_PRELOAD_RATE=65536",
            programs.Target, "4", DetachedTarget.Stop);
        target.WaitReady();
        Assert.Contains(File.ReadAllLines($"/proc/{target.Pid}/maps"), l => l.EndsWith("/" + Path.GetFileName(preload), StringComparison.Ordinal));
        string dir = Directory.CreateTempSubdirectory("memprof-leftover").FullName;

        using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--mode", "inject", "--pid", target.Pid.ToString(),
            "--duration", "1s", "--no-firefox", "-o", Path.Combine(dir, "x.memprof"));
        var result = memprof.WaitForExit(TimeSpan.FromSeconds(120));

        Assert.Equal(71, result.ExitCode);
        var said = result.Stderr.Trim().Split('\n');
        Assert.Single(said);
        Assert.Equal("memprof: cannot attach by injection: the process already carries memprof's launch sampler, which is read as it is", said[0]);
        Assert.DoesNotContain(File.ReadAllLines($"/proc/{target.Pid}/maps"), l => l.EndsWith("/" + InjectLibrary.FileName, StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(dir, "x.memprof")) && RecordingReader.Read(Path.Combine(dir, "x.memprof")).Header.SamplingRateBytes == 1,
            "a recording claiming rate 1 was written");
        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal((0, "ready\nok threads=4\n"), target.Finish());
        Directory.Delete(dir, recursive: true);
    }
}
