using Profiler.Core.Recording;
using Xunit.Abstractions;

namespace Profiler.Integration.Tests.Inject;

/// <summary>The live heap a process already holds when memprof attaches by injection: the library's
/// apply, called at a safe point before any slot is redirected, takes it from the allocator
/// (glibc's mallinfo2), so the Memory track starts at the program's real level, not at 0.</summary>
public sealed class InjectBaseTests(ITestOutputHelper output)
{
    const int HeldMegabytes = 50;

    [Fact]
    public void The_recording_starts_at_the_live_heap_the_program_held_before_the_attach()
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-inject-base");
        string program = Path.Combine(dir.FullName, "held_heap");
        ProcessRunner.RunChecked("cc", ["-Wall", "-Wextra", "-Werror", "-O2", "-o", program,
            Path.Combine(RepoPaths.Root, "tests", "Profiler.Integration.Tests", "Inject", "held_heap.c")]);
        using var target = new DetachedTarget(program, HeldMegabytes.ToString(), DetachedTarget.Stop);
        target.WaitReady();
        long held = long.Parse(target.Output.Split('\n')[0]["ready ".Length..]);
        string recording = Path.Combine(dir.FullName, "base.memprof");

        using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--mode", "inject", "--pid", target.Pid.ToString(),
            "--duration", "1s", "--no-firefox", "-o", recording);
        var result = memprof.WaitForExit(TimeSpan.FromSeconds(120));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("live heap starts at the allocator's own figure at the attach", result.Stderr);
        var counters = RecordingReader.Read(recording).Counters.Where(c => c.Pid == target.Pid && c.LiveBytesKnown).ToList();
        Assert.NotEmpty(counters);
        long first = counters[0].LiveBytes;
        output.WriteLine($"held {held:N0} B (usable); the recording starts at {first:N0} B, ends at {counters[^1].LiveBytes:N0} B");
        // mallinfo2 counts chunk headers and the program's few other blocks too: a little above.
        Assert.InRange(first, held, held + held / 50);
        // Nothing held is freed: the level stays (the last reading may be taken while only frees
        // still go through the sampler, at detach: a few hundred small frees below).
        Assert.InRange(counters[^1].LiveBytes, held - held / 100, held + held / 50);
        Assert.True(target.Running, target.Errors);
        var (code, said) = target.Finish();
        Assert.Equal(0, code);
        Assert.EndsWith("ok\n", said);
        dir.Delete(recursive: true);
    }
}
