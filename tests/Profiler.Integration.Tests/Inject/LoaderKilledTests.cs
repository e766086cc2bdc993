using Profiler.Collectors.Linux.Inject;

namespace Profiler.Integration.Tests.Inject;

/// <summary>The loader (memprof) SIGKILLed right after a load, in the middle of one, and while
/// it waits for a safe point with the target's threads armed: the target runs on unharmed each
/// time, and the interrupted load completes or gives up on its own, leaving no thread armed.</summary>
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
        Assert.Equal("started", loader.ReadLine(TimeSpan.FromSeconds(60)));
        string line = loader.ReadLine(TimeSpan.FromSeconds(60)) ?? loader.StandardErrorSoFar;
        Assert.Equal(0, TargetChecks.Kill(loader.Id, 9)); // memprof alone, as a user's kill -9 would

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
        Assert.Equal("started", loader.ReadLine(TimeSpan.FromSeconds(60)));
        // The constructor creates its file, then sleeps 0.8 s before writing it: dlopen is running.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(programs.SlowLibrary + ".ran"))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the load never started");
            Thread.Sleep(1);
        }
        Assert.Equal("", InjectPrograms.RanFile(programs.SlowLibrary));
        Assert.Equal(0, TargetChecks.Kill(loader.Id, 9)); // memprof alone, as a user's kill -9 would

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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Killing_the_loader_while_it_waits_for_a_safe_point_leaves_no_thread_armed(bool allocateRightAway)
    {
        RootRequired.Check();
        // "late": the threads allocate only once the go file exists, so the loader waits with them armed.
        using var target = new DetachedTarget(programs.Target, "2", DetachedTarget.Stop, "late");
        target.WaitReady();
        var library = programs.CopyOfLibrary(allocateRightAway ? "libkilled-waiting-go.so" : "libkilled-waiting.so");

        using var loader = InjectorProcess.Start(target.Pid, library);
        Assert.Equal("started", loader.ReadLine(TimeSpan.FromSeconds(60)));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!TargetChecks.Threads(target.Pid).Any(tid => Tracer(target.Pid, tid) != 0))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the target was never traced: {loader.StandardErrorSoFar}");
            Thread.Sleep(2);
        }
        // Seized: its debug registers are set a moment later; the 2 s wait for a safe point has begun.
        Thread.Sleep(200);
        Assert.Null(InjectPrograms.RanFile(library));
        Assert.Equal(0, TargetChecks.Kill(loader.Id, 9)); // memprof alone, as a user's kill -9 would

        if (allocateRightAway)
        {
            // Allocator calls from the armed threads, their tracer's parent dead: the load still happens.
            File.WriteAllText(target.StopFile + ".go", "");
            while (InjectPrograms.RanFile(library) is not { Length: > 0 })
            {
                Assert.True(target.Running, $"the target died: {target.Errors}");
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the load never finished");
                Thread.Sleep(10);
            }
            TargetChecks.AssertMapped(target.Pid, library);
        }
        while (TargetChecks.Threads(target.Pid).Any(tid => Tracer(target.Pid, tid) != 0))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the target's threads stayed traced");
            Thread.Sleep(10);
        }
        if (!allocateRightAway)
        {
            // The wait gave up with nobody listening: the threads were disarmed before being let go.
            Assert.Null(InjectPrograms.RanFile(library));
            File.WriteAllText(target.StopFile + ".go", "");
        }
        Thread.Sleep(300);
        Assert.True(target.Running, target.Errors);
        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal((0, "ready\nok threads=2\n"), target.Finish());
    }

    static int Tracer(int pid, int tid)
    {
        try
        {
            var line = File.ReadAllLines($"/proc/{pid}/task/{tid}/status").First(l => l.StartsWith("TracerPid:", StringComparison.Ordinal));
            return int.Parse(line["TracerPid:".Length..].Trim());
        }
        catch (IOException) { return 0; } // the thread ended meanwhile
    }
}
