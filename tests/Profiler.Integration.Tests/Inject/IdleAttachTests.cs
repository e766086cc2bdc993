using System.Diagnostics;
using Profiler.Collectors.Linux.Inject;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Export;
using Xunit.Abstractions;

namespace Profiler.Integration.Tests.Inject;

/// <summary>Attach by injection to a process that never calls the allocator while memprof waits
/// for a safe point: every thread is blocked (epoll_wait, poll, read, nanosleep, read of stdin).
/// A thread is caught in its blocking call, the load runs there, and every call, the caught
/// one and those of the threads let go, goes on as if nothing had happened: no EINTR, the sleep
/// neither cut short nor started over.</summary>
public sealed class IdleAttachTests(InjectPrograms programs, ITestOutputHelper log) : IClassFixture<InjectPrograms>
{
    /// <summary>Each kind of wait alone (the main thread in a futex, no safe point): the load runs
    /// on the waiting thread, in that call, and the call then carries on as if nothing happened.</summary>
    [Theory]
    [InlineData("epoll", "epoll_wait")]
    [InlineData("poll", "poll")]
    [InlineData("read", "read")]
    [InlineData("sleep", "clock_nanosleep")]
    public void A_thread_waiting_alone_is_caught_in_its_call_which_is_restarted(string kind, string call)
    {
        RootRequired.Check();
        string program = Compile();
        using var target = new DetachedTarget(program, kind);
        target.WaitReady();
        var pipes = target.Output.Split('\n')[0].Split(' ').Skip(1).Select(int.Parse).ToList();
        var library = programs.CopyOfLibrary($"libidle-{kind}.so");

        var result = new RemoteLoader().Load(target.Pid, library);

        log.WriteLine($"thread {result.Tid} at {result.SafePoint}; after {result.ToSafePoint.TotalMilliseconds:0} ms; {string.Join("; ", result.Rejected ?? [])}");
        Assert.True(result.Loaded, result.Failure);
        Assert.Equal($"{call} waiting in libc", result.SafePoint);
        Assert.NotEqual(target.Pid, result.Tid);
        Assert.Equal($"{target.Pid} {result.Tid}\n", InjectPrograms.RanFile(library));
        TargetChecks.AssertLeftClean(target.Pid);
        // The same thread is caught again (as memprof_preload_apply's call is, after the load).
        var again = new RemoteLoader().Load(target.Pid, programs.CopyOfLibrary($"libidle-{kind}-again.so"));
        log.WriteLine($"again: thread {again.Tid} at {again.SafePoint}; {again.Failure}; {string.Join("; ", again.Rejected ?? [])}");
        if (kind == "sleep")
        {
            // The restarted sleep (restart_syscall) cannot be told from a restarted futex wait: no safe point.
            Assert.False(again.Loaded);
            Assert.Contains("safe point", again.Failure);
        }
        else
        {
            Assert.True(again.Loaded, again.Failure);
            Assert.Equal(result.Tid, again.Tid);
            // poll was restarted through restart_syscall, which its wait channel names.
            Assert.Equal((kind == "poll" ? "poll or select, restarted" : call) + " waiting in libc", again.SafePoint);
        }
        TargetChecks.AssertLeftClean(target.Pid);

        if (kind != "sleep") File.WriteAllText($"/proc/{target.Pid}/fd/{pipes[kind switch { "epoll" => 0, "poll" => 1, _ => 2 }]}", "x");
        // The main thread reads the stop pipe once its thread ended (the sleep: 4 s from its start).
        File.WriteAllText($"/proc/{target.Pid}/fd/{pipes[3]}", "x");
        var (exitCode, said) = target.Finish();
        Assert.True(exitCode == 0, $"the target's checks failed: {said} {target.Errors}");
        Assert.EndsWith("ok\n", said);
    }

    string Compile()
    {
        string program = Path.Combine(programs.Folder, "idle_server");
        lock (programs)
            if (!File.Exists(program))
                ProcessRunner.RunChecked("cc", ["-Wall", "-Wextra", "-Werror", "-O1", "-g", "-fno-omit-frame-pointer", "-pthread", "-o", program,
                    Path.Combine(RepoPaths.Root, "tests", "Profiler.Integration.Tests", "Inject", "idle_server.c")]);
        return program;
    }

    [Fact]
    public void An_idle_process_is_injected_into_in_its_blocking_calls_which_carry_on_unharmed()
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-idle-");
        string program = Compile();
        // Not this process's child: the debug-register check traces it from here.
        using var target = new DetachedTarget(program);
        var clock = Stopwatch.StartNew();
        target.WaitReady();
        var pipes = target.Output.Split('\n')[0].Split(' ').Skip(1).Select(int.Parse).ToList();
        Assert.Equal(4, pipes.Count);
        using var memory = ProcMemory.Open(target.Pid);
        var before = InjectAttachTests.Slots(target.Pid, memory);
        Assert.NotEmpty(before);
        string output = Path.Combine(dir.FullName, "idle.memprof");

        using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--mode", "inject", "--pid", target.Pid.ToString(), "--duration", "14s",
            "--no-firefox", "-o", output);
        var injecting = Stopwatch.StartNew();
        while (!memprof.StandardErrorSoFar.Contains("in-process sampling injected") && !memprof.HasExited && injecting.Elapsed < TimeSpan.FromSeconds(60))
            Thread.Sleep(10);
        Assert.True(memprof.StandardErrorSoFar.Contains("in-process sampling injected into the running process"), memprof.StandardErrorSoFar);
        // The sleeping thread allocates 8 s after its start: the injection must come first.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(7), $"the injection took until {clock.Elapsed.TotalSeconds:0.0} s, past the target's sleep");
        foreach (int fd in pipes.Take(3)) File.WriteAllText($"/proc/{target.Pid}/fd/{fd}", "x");

        var result = memprof.WaitForExit(TimeSpan.FromSeconds(120));
        log.WriteLine(result.Stderr);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.True(target.Running, $"the target died: {target.Errors}");
        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal(before, InjectAttachTests.Slots(target.Pid, memory));

        // Exactly the blocks each woken thread allocated, at its own function.
        var model = RecordingLoader.Load(output, TextWriter.Null);
        var ev = model.Events;
        var sites = new Dictionary<string, (int Blocks, long Bytes)>();
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] != EventKind.Alloc) continue;
            string site = SiteAnalysis.SiteOf(model.Tables, ev.Stack[i]) is { } s ? model.Tables.Function(s).Name : "?";
            var (blocks, bytes) = sites.GetValueOrDefault(site);
            sites[site] = (blocks + 1, bytes + (long)ev.Weight[i]);
        }
        var expected = new Dictionary<string, (int, long)>
        {
            ["after_epoll"] = (3, 3 * 1111), ["after_poll"] = (5, 5 * 2222), ["after_read"] = (7, 7 * 3333), ["after_sleep"] = (2, 2 * 4444),
        };
        Assert.Equal(expected.OrderBy(p => p.Key), sites.OrderBy(p => p.Key));
        // The counters count the same calls from the request on: the woken thread that carried it
        // out, and any that waited for it, included.
        var counted = RecordingReader.Read(output).Counters.Last(c => c.Pid == target.Pid);
        Assert.Equal(((ulong)expected.Values.Sum(v => v.Item1), (ulong)expected.Values.Sum(v => v.Item2)), (counted.Allocations, counted.AllocatedBytes));

        // Each blocking call returned what it should: no EINTR, the sleep its whole span but no more.
        File.WriteAllText($"/proc/{target.Pid}/fd/{pipes[3]}", "x");
        var (exitCode, said) = target.Finish();
        Assert.True(exitCode == 0, $"the target's checks failed: {said} {target.Errors}");
        Assert.EndsWith("ok\n", said);
        dir.Delete(recursive: true);
    }
}
