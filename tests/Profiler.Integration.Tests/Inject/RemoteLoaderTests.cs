using Profiler.Collectors.Linux.Inject;
using Xunit.Abstractions;

namespace Profiler.Integration.Tests.Inject;

/// <summary>Loading a library into running processes for real: the library's constructor runs
/// on the thread caught at a safe point, the program's own checks of its data pass, its
/// output and exit status are those of an undisturbed run, and nothing is left behind.</summary>
public sealed class RemoteLoaderTests(InjectPrograms programs, ITestOutputHelper output) : IClassFixture<InjectPrograms>
{
    [Fact]
    public void Loads_into_a_single_threaded_allocating_program()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "0", DetachedTarget.Stop);
        target.WaitReady();

        var result = new RemoteLoader().Load(target.Pid, programs.Library);

        AssertLoaded(result, target.Pid, programs.Library);
        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal((0, "ready\nok threads=0\n"), target.Finish());
    }

    [Fact]
    public void Loads_into_the_allocs_sample_while_it_serves()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(RepoPaths.Sample("allocs-fp"), "serve");
        target.WaitReady();
        var library = programs.CopyOfLibrary("libserve.so");

        var result = new RemoteLoader().Load(target.Pid, library);

        AssertLoaded(result, target.Pid, library);
        Assert.Equal(target.Pid, result.Tid);
        TargetChecks.AssertLeftClean(target.Pid);
        Thread.Sleep(100);
        // serve runs until SIGTERM, whose default action ends it (status 128 + 15).
        Assert.Equal((143, $"ready {target.Pid}\n"), target.Finish(signal: 15));
    }

    [Fact]
    public void Loads_50_libraries_in_turn_into_8_threads_that_allocate_without_pause()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "8", DetachedTarget.Stop);
        target.WaitReady();
        var loader = new RemoteLoader();
        var results = new List<RemoteLoadResult>();
        for (int i = 0; i < 50; i++)
        {
            var library = programs.CopyOfLibrary($"libmany{i}.so");
            var result = loader.Load(target.Pid, library);
            AssertLoaded(result, target.Pid, library);
            Assert.True(target.Running, $"the target died after load {i}: {target.Errors}");
            TargetChecks.AssertNoDebugRegisters(target.Pid);
            results.Add(result);
        }

        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal((0, "ready\nok threads=8\n"), target.Finish());
        Report(results);
        // Every load ran on one of the allocating threads, never on main (it only waits for them).
        Assert.DoesNotContain(results, r => r.Tid == target.Pid);
    }

    /// <summary>The stress sample forks (with and without exec), dlopens and dlcloses libm, creates
    /// and ends threads each round, and allocates in a SIGALRM handler every 100 µs: threads inside
    /// the dynamic linker or a handler reach malloc too, and must not be taken. It runs until told
    /// to stop, so a slow host gets as many loads as a fast one.</summary>
    [Fact]
    public void Loads_into_the_stress_program_while_it_forks_dlopens_and_allocates_in_signal_handlers()
    {
        RootRequired.Check();
        const int Wanted = 12;
        using var target = new DetachedTarget(RepoPaths.Sample("stress"), "100000", DetachedTarget.Stop);
        Thread.Sleep(50);
        var loader = new RemoteLoader();
        var results = new List<RemoteLoadResult>();
        var failures = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; target.Running && results.Count < Wanted && clock.Elapsed < TimeSpan.FromSeconds(60); i++)
        {
            var library = programs.CopyOfLibrary($"libstress{i}.so");
            var result = loader.Load(target.Pid, library, RemoteLoaderOptions.Default with { SafePointTimeout = TimeSpan.FromMilliseconds(500) });
            if (result.Loaded)
            {
                Assert.Equal($"{target.Pid} {result.Tid}\n", InjectPrograms.RanFile(library));
                results.Add(result);
            }
            // Between rounds every worker may have ended, and at the end the process goes.
            else if (!(result.Failure!.StartsWith("no thread of process") || result.Failure == $"process {target.Pid} is gone" || !target.Running))
                failures.Add(result.Failure);
        }

        var (code, text) = target.Finish();
        Report(results);
        foreach (var why in results.SelectMany(r => r.Rejected ?? []).Distinct().Take(10)) output.WriteLine("  rejected: " + why);
        Assert.True(code == 0, $"exit {code}: {text} {target.Errors}");
        Assert.StartsWith("ok allocations=", text);
        Assert.Empty(failures);
        Assert.True(results.Count == Wanted, $"only {results.Count} loads in {clock.Elapsed.TotalSeconds:0} s");
    }

    [Fact]
    public void Loads_the_preload_library_as_it_is_built()
    {
        RootRequired.Check();
        var preload = Collectors.Linux.Preload.PreloadLibrary.Locate();
        Assert.True(preload is not null, "libmemprof_preload.so was not built beside the collector");
        using var target = new DetachedTarget(programs.Target, "8", DetachedTarget.Stop);
        target.WaitReady();

        var result = new RemoteLoader().Load(target.Pid, preload);

        output.WriteLine($"preload: {result.SafePoint}, dlopen {result.Call.TotalMilliseconds:0.###} ms");
        Assert.True(result.Loaded, result.Failure);
        TargetChecks.AssertMapped(target.Pid, Path.GetFullPath(preload));
        // Found in the maps the second time: reused, not loaded again.
        var again = new RemoteLoader().Load(target.Pid, preload);
        Assert.True(again is { Loaded: true, AlreadyLoaded: true }, again.Failure);
        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal((0, "ready\nok threads=8\n"), target.Finish());
    }

    [Fact]
    public void A_library_dlopen_refuses_is_reported_with_dlerror_and_the_program_carries_on()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "8", DetachedTarget.Stop);
        target.WaitReady();
        var notElf = Path.Combine(programs.Folder, "libnot-elf.so");
        File.WriteAllText(notElf, string.Concat(Enumerable.Repeat("this is not an ELF file\n", 100)));

        var result = new RemoteLoader().Load(target.Pid, notElf);

        Assert.False(result.Loaded);
        Assert.Equal($"dlopen failed: {notElf}: invalid ELF header", result.Failure);
        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal((0, "ready\nok threads=8\n"), target.Finish());
    }

    [Fact]
    public void A_load_that_outlasts_its_bound_is_finished_by_the_thread_alone()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "8", DetachedTarget.Stop);
        target.WaitReady();
        var options = RemoteLoaderOptions.Default with { CallTimeout = TimeSpan.FromMilliseconds(100) };

        var result = new RemoteLoader().Load(target.Pid, programs.SlowLibrary, options);

        // The constructor sleeps 0.8 s: memprof lets go of the thread in the middle of dlopen.
        Assert.False(result.Loaded);
        Assert.Equal("dlopen did not return within 0.1 s; the thread finishes it on its own", result.Failure);
        TargetChecks.AssertNotTraced(target.Pid);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (InjectPrograms.RanFile(programs.SlowLibrary) is not { Length: > 0 } && clock.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(20);
        Assert.Equal($"{target.Pid} {result.Tid}\n", InjectPrograms.RanFile(programs.SlowLibrary));
        TargetChecks.AssertMapped(target.Pid, programs.SlowLibrary);
        Thread.Sleep(200);
        Assert.True(target.Running, target.Errors);
        Assert.Equal((0, "ready\nok threads=8\n"), target.Finish());
    }

    [Fact]
    public void A_process_that_only_sleeps_is_caught_in_its_sleep_which_still_ends_on_time()
    {
        RootRequired.Check();
        using var target = new DetachedTarget("/bin/sleep", "3");
        var started = System.Diagnostics.Stopwatch.StartNew();
        Thread.Sleep(100);

        var library = programs.CopyOfLibrary("libsleep.so");
        var result = new RemoteLoader().Load(target.Pid, library);

        AssertLoaded(result, target.Pid, library);
        Assert.Equal("clock_nanosleep waiting in libc", result.SafePoint);
        TargetChecks.AssertLeftClean(target.Pid);
        // Restarted with the time left: it ends 3 s after its start, neither sooner nor a whole sleep
        // later (6 s and more). The upper bound leaves a loaded machine its slower start and checks.
        Assert.Equal((0, ""), target.Finish(signal: 0));
        Assert.InRange(started.Elapsed.TotalSeconds, 2.9, 5.5);
    }

    [Fact]
    public void A_process_that_neither_allocates_nor_waits_in_libc_gives_no_safe_point_and_is_left_as_it_was()
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-fifo-");
        string fifo = Path.Combine(dir.FullName, "fifo");
        ProcessRunner.RunChecked("mkfifo", [fifo]);
        // cat blocks opening a FIFO nobody writes to: openat is no waiting call (the loader opens files).
        using var target = new DetachedTarget("/bin/cat", fifo);
        Thread.Sleep(100);
        var options = RemoteLoaderOptions.Default with { SafePointTimeout = TimeSpan.FromMilliseconds(500) };

        var library = programs.CopyOfLibrary("libfifo.so");
        var result = new RemoteLoader().Load(target.Pid, library, options);

        Assert.False(result.Loaded);
        Assert.Equal($"no thread of process {target.Pid} reached an allocator's entry or a waiting call at a safe point within 0.5 s (1 thread watched)", result.Failure);
        Assert.Null(InjectPrograms.RanFile(library));
        TargetChecks.AssertLeftClean(target.Pid);
        // Its open was interrupted and resumed: it still opens the FIFO once written to, and ends successfully.
        using (var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write)) writer.Write("hello\n"u8);
        Assert.Equal((0, "hello\n"), target.Finish(signal: 0));
        dir.Delete(recursive: true);
    }

    [Fact]
    public void A_process_traced_by_someone_else_is_refused_in_one_line()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "0", DetachedTarget.Stop);
        target.WaitReady();
        using var tracing = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int tracerTid = 0, seized = -1;
        // TracerPid names the tracing thread (here, not this process's main thread).
        var tracer = new Thread(() =>
        {
            var ptrace = new Ptrace();
            tracerTid = TargetChecks.GetTid();
            seized = ptrace.Seize(target.Pid);
            tracing.Set();
            release.Wait();
            ptrace.Interrupt(target.Pid);
            var stop = ptrace.Wait(target.Pid, TimeSpan.FromSeconds(2));
            ptrace.Detach(target.Pid, stop is { Kind: PtraceStopKind.Signal } s ? s.Signal : 0);
        });
        tracer.Start();
        tracing.Wait();
        Assert.Equal(0, seized);

        var result = new RemoteLoader().Load(target.Pid, programs.Library);

        release.Set();
        tracer.Join();
        Assert.False(result.Loaded);
        Assert.Equal($"process {target.Pid} is already traced by process {tracerTid} (a debugger?)", result.Failure);
        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal((0, "ready\nok threads=0\n"), target.Finish());
    }

    [Fact]
    public void A_process_under_a_seccomp_filter_is_refused_unless_allowed()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "4", DetachedTarget.Stop, "seccomp");
        target.WaitReady();
        var library = programs.CopyOfLibrary("libseccomp.so");

        var refused = new RemoteLoader().Load(target.Pid, library);
        Assert.Equal($"process {target.Pid} runs under a seccomp filter: a system call of the load it forbids could kill it", refused.Failure);
        Assert.Null(InjectPrograms.RanFile(library));

        // This filter allows everything: told so, the loader goes ahead.
        var result = new RemoteLoader().Load(target.Pid, library, RemoteLoaderOptions.Default with { UnderSeccompFilter = true });
        AssertLoaded(result, target.Pid, library);
        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal((0, "ready\nok threads=4\n"), target.Finish());
    }

    /// <summary>A program that catches every signal the safe point could be marked with: were the
    /// loader to die, a marker left pending would run the program's handler, so nothing is done
    /// (probes instead), and the program never sees a signal it did not ask for.</summary>
    [Fact]
    public void A_program_that_catches_the_quiet_signals_is_refused_and_sees_none()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "4", DetachedTarget.Stop, "signals");
        target.WaitReady();
        var library = programs.CopyOfLibrary("libsignals.so");

        var result = new RemoteLoader().Load(target.Pid, library);

        Assert.False(result.Loaded);
        Assert.Equal($"process {target.Pid} catches SIGURG, SIGWINCH and SIGCHLD and ignores no other signal: no signal can mark a safe point harmlessly", result.Failure);
        Assert.Null(InjectPrograms.RanFile(library));
        TargetChecks.AssertLeftClean(target.Pid);
        // No "signals=N" line: its handlers never ran.
        Assert.Equal((0, "ready\nok threads=4\n"), target.Finish());
    }

    [Fact]
    public void A_process_that_is_gone_is_said_so()
    {
        var result = new RemoteLoader().Load(2147480000, programs.Library);
        Assert.Equal("process 2147480000 is gone", result.Failure);
    }

    void Report(IReadOnlyList<RemoteLoadResult> results)
    {
        string Stats(IEnumerable<double> values)
        {
            var sorted = values.Order().ToList();
            return $"median {sorted[sorted.Count / 2]:0.###} ms, max {sorted[^1]:0.###} ms";
        }
        output.WriteLine($"{results.Count} loads: safe point {Stats(results.Select(r => r.ToSafePoint.TotalMilliseconds))} (arming {Stats(results.Select(r => r.Arming.TotalMilliseconds))}); " +
                         $"dlopen {Stats(results.Select(r => r.Call.TotalMilliseconds))}; whole load {Stats(results.Select(r => r.Total.TotalMilliseconds))}; " +
                         $"{results.Sum(r => r.Rejected?.Count ?? 0)} rejected hits");
        foreach (var why in results.SelectMany(r => r.Rejected ?? []).Take(5)) output.WriteLine("  rejected: " + why);
    }

    void AssertLoaded(RemoteLoadResult result, int pid, string library)
    {
        output.WriteLine($"{Path.GetFileName(library)}: thread {result.Tid} at {result.SafePoint}; safe point after {result.ToSafePoint.TotalMilliseconds:0.###} ms (arming {result.Arming.TotalMilliseconds:0.###} ms), " +
                         $"dlopen {result.Call.TotalMilliseconds:0.###} ms ({result.CallStops} stops), total {result.Total.TotalMilliseconds:0.###} ms, {result.Rejected?.Count ?? 0} rejected" +
                         string.Concat((result.Notes ?? []).Select(n => "; " + n)));
        Assert.True(result.Loaded, result.Failure);
        Assert.False(result.AlreadyLoaded);
        Assert.NotEqual(0UL, result.Handle);
        TargetChecks.AssertMapped(pid, library);
        Assert.Equal($"{pid} {result.Tid}\n", InjectPrograms.RanFile(library));
    }
}
