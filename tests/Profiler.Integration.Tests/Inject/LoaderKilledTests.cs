using Profiler.Collectors.Linux.Inject;

namespace Profiler.Integration.Tests.Inject;

/// <summary>The loader (memprof) SIGKILLed right after a load, and in the middle of one: the
/// target runs on unharmed either way, and the interrupted load completes on its own.</summary>
public sealed class LoaderKilledTests(InjectPrograms programs) : IClassFixture<InjectPrograms>
{
    [Fact]
    public void Killing_the_loader_right_after_the_load_leaves_the_target_running()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "8", DetachedTarget.Stop);
        target.WaitReady();
        var library = programs.CopyOfLibrary("libkilled-after.so");

        using var loader = InjectorProcess.Start(target.Pid, library);
        Assert.Equal("started", loader.StandardOutput.ReadLine());
        string line = loader.StandardOutput.ReadLine() ?? loader.StandardError.ReadToEnd();
        loader.Kill();
        loader.WaitForExit();

        Assert.StartsWith("loaded ", line);
        Assert.Equal($"{target.Pid} {line["loaded ".Length..]}\n", InjectPrograms.RanFile(library));
        Thread.Sleep(300);
        Assert.True(target.Running, target.Errors);
        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal((0, "ready\nok threads=8\n"), target.Finish());
    }

    [Fact]
    public void Killing_the_loader_in_the_middle_of_dlopen_lets_the_thread_finish_the_load_and_carry_on()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "8", DetachedTarget.Stop);
        target.WaitReady();

        using var loader = InjectorProcess.Start(target.Pid, programs.SlowLibrary);
        Assert.Equal("started", loader.StandardOutput.ReadLine());
        // The constructor creates its file, then sleeps 0.8 s before writing it: dlopen is running.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(programs.SlowLibrary + ".ran"))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the load never started");
            Thread.Sleep(1);
        }
        Assert.Equal("", InjectPrograms.RanFile(programs.SlowLibrary));
        loader.Kill();
        loader.WaitForExit();

        while (InjectPrograms.RanFile(programs.SlowLibrary) is not { Length: > 0 })
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the load never finished");
            Thread.Sleep(10);
        }
        TargetChecks.AssertMapped(target.Pid, programs.SlowLibrary);
        Thread.Sleep(300);
        Assert.True(target.Running, target.Errors);
        TargetChecks.AssertNotTraced(target.Pid);
        TargetChecks.AssertNoDebugRegisters(target.Pid);
        Assert.Equal((0, "ready\nok threads=8\n"), target.Finish());
    }
}
