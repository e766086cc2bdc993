using System.Diagnostics;
using Profiler.Collectors.Linux.Inject;
using Xunit.Abstractions;

namespace Profiler.Integration.Tests.Inject;

/// <summary>The loader process itself (`memprof __load-library`, the one that traces the target)
/// SIGKILLed by its pid, as the OOM killer or a cgroup kill would, at several moments of a load:
/// while it waits for a safe point, and while the caught thread runs dlopen. Nothing it set up
/// may outlive it in a way that hurts the target: the probe goes with its file descriptor, the
/// threads are let go by the kernel, a marker signal left pending is one the program ignores.</summary>
public sealed class LoaderProcessKilledTests(InjectPrograms programs, ITestOutputHelper output) : IClassFixture<InjectPrograms>
{
    /// <summary>The threads wait (no allocation) until the go file exists: the loader has them
    /// seized and its probe in place when it dies; they allocate only afterwards.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(600)]
    public void Killed_while_it_waits_for_a_safe_point(int afterMs)
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "4", DetachedTarget.Stop, "late");
        target.WaitReady();
        var library = programs.CopyOfLibrary($"libwaiting{afterMs}.so");

        using var injector = InjectorProcess.Start(target.Pid, library);
        int loader = WaitForTracingLoader(target.Pid, injector);
        Thread.Sleep(afterMs);
        Assert.Equal(0, TargetChecks.Kill(loader, 9));
        TargetChecks.WaitUntilFilesClosed(loader);
        WaitUntilUntraced(target.Pid);

        File.WriteAllText(target.StopFile + ".go", "");
        Thread.Sleep(500);
        Assert.True(target.Running, target.Errors);
        Assert.Null(InjectPrograms.RanFile(library));
        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal((0, "ready\nok threads=4\n"), target.Finish());
    }

    /// <summary>Threads allocating without pause: the loader is killed a given time after it
    /// first traces the target, wherever it is then (seizing, waiting, in the call, letting go).</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(10)]
    [InlineData(40)]
    [InlineData(150)]
    [InlineData(400)]
    public void Killed_at_a_moment_of_a_load_into_busy_threads(int afterMs)
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "8", DetachedTarget.Stop);
        target.WaitReady();
        var library = programs.CopyOfLibrary($"libbusy{afterMs}.so");

        using var injector = InjectorProcess.Start(target.Pid, library);
        if (WaitForTracing(target.Pid, injector) is { } loader)
        {
            if (afterMs > 0) Thread.Sleep(afterMs);
            TargetChecks.Kill(loader, 9); // it may have finished already: then there is nothing to kill
            TargetChecks.WaitUntilFilesClosed(loader);
        }
        WaitUntilUntraced(target.Pid);

        Thread.Sleep(300);
        Assert.True(target.Running, target.Errors);
        // Loaded or not, whole: a load that began is finished by the caught thread alone.
        string? ran = InjectPrograms.RanFile(library);
        output.WriteLine($"killed {afterMs} ms after tracing began: {(ran is null ? "not loaded" : "loaded")}");
        if (ran is not null) TargetChecks.AssertMapped(target.Pid, library);
        // Segments only, loaded or not: a loader killed between writing the stub and starting
        // the thread on it leaves the stub's bytes in the page's unused tail, which nothing runs.
        TargetChecks.AssertLeftClean(target.Pid, segmentsOnly: true);
        Assert.Equal((0, "ready\nok threads=8\n"), target.Finish());
    }

    [Fact]
    public void Killed_while_the_caught_thread_runs_dlopen()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "8", DetachedTarget.Stop);
        target.WaitReady();

        using var injector = InjectorProcess.Start(target.Pid, programs.SlowLibrary);
        int loader = WaitForTracingLoader(target.Pid, injector);
        var clock = Stopwatch.StartNew();
        // The constructor creates its file, then sleeps 0.8 s before writing it: dlopen is running.
        while (!File.Exists(programs.SlowLibrary + ".ran"))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the load never started");
            Thread.Sleep(1);
        }
        Assert.Equal(0, TargetChecks.Kill(loader, 9));
        TargetChecks.WaitUntilFilesClosed(loader);

        while (InjectPrograms.RanFile(programs.SlowLibrary) is not { Length: > 0 })
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the load never finished");
            Thread.Sleep(10);
        }
        WaitUntilUntraced(target.Pid);
        Thread.Sleep(300);
        Assert.True(target.Running, target.Errors);
        TargetChecks.AssertMapped(target.Pid, programs.SlowLibrary);
        // The stub's bytes stay in the unused tail of a code page: the thread cannot write over code it runs.
        TargetChecks.AssertLeftClean(target.Pid, segmentsOnly: true);
        Assert.Equal((0, "ready\nok threads=8\n"), target.Finish());
    }

    /// <summary>The loader's pid, once one of the target's threads is traced (by it); null when the
    /// load ended (the injector printed its result) before the tracing could be seen: a load into
    /// busy threads may take less time than this takes to look at every thread on a loaded host.</summary>
    internal static int? WaitForTracing(int pid, RunningProcess injector)
    {
        Assert.Equal("started", injector.ReadLine(TimeSpan.FromSeconds(60)));
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string? otherTracer = null;
            foreach (int tid in TargetChecks.Threads(pid))
                if (TargetChecks.TracerOf(pid, tid) is var tracer and not 0)
                {
                    // The id read may already be another task's by the time its command line is
                    // (the tracing thread gone, its id reused on a busy host): looked at again.
                    string command = ReadCommandLine(tracer);
                    if (command.Contains(RemoteLoaderProcess.Verb, StringComparison.Ordinal)) return tracer;
                    otherTracer = $"; traced by {tracer} ({command.Replace('\0', ' ')})";
                }
            if (LoadEnded(injector)) return null;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the target was never traced by the loader{otherTracer}: {injector.StandardErrorSoFar}");
            Thread.SpinWait(100);
        }
    }

    static string ReadCommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline"); }
        catch (IOException) { return ""; }
    }

    static bool LoadEnded(RunningProcess injector) =>
        injector.StandardOutputSoFar.Split('\n').Any(line => line.StartsWith("loaded ") || line.StartsWith("failed "));

    /// <summary>Tests that kill the loader while it waits or mid-dlopen: it is seen tracing then.</summary>
    internal static int WaitForTracingLoader(int pid, RunningProcess injector) =>
        WaitForTracing(pid, injector) ?? throw new Xunit.Sdk.XunitException($"the load ended before it could be interrupted: {injector.StandardOutputSoFar}");

    internal static void WaitUntilUntraced(int pid)
    {
        var clock = Stopwatch.StartNew();
        while (TargetChecks.Threads(pid).Any(tid => TargetChecks.TracerOf(pid, tid) != 0))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the target's threads stayed traced");
            Thread.Sleep(5);
        }
    }
}
