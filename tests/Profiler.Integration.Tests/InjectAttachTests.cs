using System.Diagnostics;
using Profiler.Collectors.Linux.Inject;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>`memprof record --pid` by injecting the sampler into a running, allocating sample:
/// exact at every call from the attach, the target unharmed, every slot put back.</summary>
public sealed class InjectAttachTests
{
    /// <summary>allocs serve: per tick, 4 × malloc(1000) freed, then one malloc(128) kept.</summary>
    const int ChurnPerTick = 4;
    const long BytesPerTick = 4 * 1000 + 128;

    [Fact]
    public void Injected_attach_at_every_call_records_whole_ticks_exactly_and_puts_every_slot_back()
    {
        RootRequired.Check();
        using var target = ServeTarget.Start("allocs-fp");
        using var memory = ProcMemory.Open(target.Id);
        var before = Slots(target.Id, memory);
        Assert.NotEmpty(before);
        var dir = Directory.CreateTempSubdirectory("memprof-inject");
        var output = Path.Combine(dir.FullName, "serve.memprof");

        var result = Memprof("record", "--rate", "1", "--mode", "inject", "--pid", target.Id.ToString(), "--duration", "3s", "--no-firefox", "-o", output);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("in-process sampling injected into the running process", result.Stderr);
        AssertAllThroughRings(result.Stderr, target.Id, output);
        var recording = RecordingReader.Read(output);
        Assert.StartsWith("in-process sampling injected", recording.Header.Mode);
        Assert.Contains("events through shared rings", recording.Header.Mode);
        Assert.Equal(0UL, recording.Footer?.LostEvents ?? 0);
        var model = RecordingLoader.Load(output, TextWriter.Null);
        var heap = HeapAnalysis.Compute(model);
        var ev = model.Events;
        long allocations = 0, bytes = 0, frees = 0, kept = 0;
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] != EventKind.Alloc) continue;
            Assert.Equal("allocs::serve_tick", SiteAnalysis.SiteOf(model.Tables, ev.Stack[i]) is { } site ? model.Tables.Function(site).Name : "?");
            allocations++;
            bytes += (long)ev.Weight[i];
            if (heap.FreedBy[i] >= 0) frees++; else kept++;
        }
        // The recording may begin and end inside a tick: at most one tick's blocks either side.
        Assert.InRange(kept, 150, 400);
        Assert.InRange(allocations - (ChurnPerTick + 1) * kept, -ChurnPerTick, ChurnPerTick);
        Assert.InRange(bytes - BytesPerTick * kept, -4000, 4000);
        Assert.InRange(frees - ChurnPerTick * kept, -ChurnPerTick, ChurnPerTick);

        Thread.Sleep(300);
        Assert.False(target.HasExited, $"the target died: {target.StandardErrorSoFar}");
        Assert.Equal("", target.StandardErrorSoFar);
        var after = Slots(target.Id, memory);
        Assert.True(Inject.TargetChecks.AssertSymbolTablesMatchFiles(target.Id) >= 2);
        Assert.Equal(before, after);
        ProbeChecks.AssertCodeUnpatched(target.Id);
        // The library stays (a pointer to its functions may be held); a second attach reuses it.
        Assert.Single(File.ReadAllLines($"/proc/{target.Id}/maps").Where(l => l.EndsWith("libmemprof_inject.so", StringComparison.Ordinal)).Select(l => l.Split(' ')[^1]).Distinct());
        var again = Memprof("record", "--rate", "1", "--mode", "inject", "--pid", target.Id.ToString(), "--duration", "1s", "--no-firefox", "-o", output);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("sampler already loaded", again.Stderr);
        AssertAllThroughRings(again.Stderr, target.Id, output);
        Assert.Equal(before, Slots(target.Id, memory));
        Assert.False(target.HasExited);
        dir.Delete(recursive: true);
    }

    [Fact]
    public void Memprof_killed_right_after_patching_leaves_the_target_running()
    {
        RootRequired.Check();
        using var target = ServeTarget.Start("allocs-fp");
        var dir = Directory.CreateTempSubdirectory("memprof-inject-kill");
        using var memory = ProcMemory.Open(target.Id);
        var original = Slots(target.Id, memory);
        var reaches = Reaches(target.Id, memory);
        using var memprof = CliRunner.StartOwnProcess("record", "--mode", "inject", "--pid", target.Id.ToString(), "--duration", "30s",
            "--no-firefox", "-o", Path.Combine(dir.FullName, "k.memprof"));
        var clock = Stopwatch.StartNew();
        while (!memprof.StandardErrorSoFar.Contains("in-process sampling injected") && clock.Elapsed < TimeSpan.FromSeconds(60) && !memprof.HasExited)
            Thread.Sleep(5);
        Assert.Contains("in-process sampling injected", memprof.StandardErrorSoFar);
        memprof.Kill();

        // The slots still lead to the sampler, which forwards with nobody reading its counters.
        Thread.Sleep(1500);
        Assert.False(target.HasExited, $"the target died: {target.StandardErrorSoFar}");
        // Not left stopped (a frozen thread whose tracer died would be let go by the kernel).
        Assert.True(Profiler.Collectors.Linux.Procfs.ProcessState.Read(target.Id) is not (null or 'T' or 't'), "the target was left stopped");
        long ticks = TicksOf(target.Id);
        Thread.Sleep(500);
        Assert.True(TicksOf(target.Id) > ticks, "the target does not run any more");
        Assert.Equal("", target.StandardErrorSoFar);

        // The next recording takes the slots left going to the sampler over, and puts them back.
        var next = Memprof("record", "--mode", "inject", "--pid", target.Id.ToString(), "--duration", "300ms", "--no-firefox", "-o", Path.Combine(dir.FullName, "n.memprof"));
        Assert.True(next.ExitCode == 0, $"exit {next.ExitCode}\n{next.Stderr}");
        Assert.Contains("taken over from an earlier recording that left them going to it", next.Stderr);
        var moved = SlotsMoved(original, reaches, Slots(target.Id, memory));
        Assert.True(moved.Count == 0, $"{next.Stderr}\n{string.Join("\n", moved)}");
        Assert.False(target.HasExited, $"the target died: {target.StandardErrorSoFar}");
        dir.Delete(recursive: true);
    }

    [Fact]
    public void Memprof_killed_while_its_rings_fill_leaves_the_target_running_its_writers_dropping()
    {
        RootRequired.Check();
        using var target = ServeTarget.Start("allocs-fp");
        var dir = Directory.CreateTempSubdirectory("memprof-inject-kill-rings");
        // The smallest rings: nobody drains them once memprof is gone, and they fill within seconds.
        using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--buffer", "1MiB", "--mode", "inject", "--pid", target.Id.ToString(),
            "--duration", "60s", "--no-firefox", "-o", Path.Combine(dir.FullName, "k.memprof"));
        var clock = Stopwatch.StartNew();
        while (!memprof.StandardErrorSoFar.Contains("events through shared rings") && clock.Elapsed < TimeSpan.FromSeconds(60) && !memprof.HasExited)
            Thread.Sleep(5);
        Assert.Contains("events through shared rings", memprof.StandardErrorSoFar);
        Thread.Sleep(300);
        memprof.Kill();

        // The writers take memprof for gone once their ring is full, and drop their events, counted, rather than wait.
        var filling = Stopwatch.StartNew();
        (ulong ReaderGone, ulong Dropped) ring;
        while ((ring = RingHeader(target.Id)).Dropped == 0 && filling.Elapsed < TimeSpan.FromSeconds(30) && !target.HasExited)
            Thread.Sleep(100);
        Assert.False(target.HasExited, $"the target died: {target.StandardErrorSoFar}");
        Assert.Equal(1UL, ring.ReaderGone);
        Assert.True(ring.Dropped > 0, "no event was dropped within 30 s: the ring did not fill, or the writer did not write into it");
        Assert.True(Profiler.Collectors.Linux.Procfs.ProcessState.Read(target.Id) is not (null or 'T' or 't'), "the target was left stopped");
        long ticks = TicksOf(target.Id);
        Thread.Sleep(500);
        Assert.True(TicksOf(target.Id) > ticks, "the target does not run any more (a writer waits for a memprof that is gone)");
        Assert.Equal("", target.StandardErrorSoFar);
        dir.Delete(recursive: true);
    }

    /// <summary>Every event came through the shared rings (each ring record's stack is counted as
    /// unwound in process or copied; a trapped one is in neither), and the process keeps no mapping
    /// of them after the detach.</summary>
    static void AssertAllThroughRings(string stderr, int pid, string output)
    {
        Assert.Contains("events through shared rings", stderr);
        Assert.DoesNotContain("shared rings not used", stderr);
        Assert.DoesNotContain("trapped instead", stderr);
        var end = System.Text.RegularExpressions.Regex.Match(stderr, @"recorded ([\d,]+) events .*?; ([\d,]+) stacks unwound in process, ([\d,]+) copied");
        Assert.True(end.Success, stderr);
        long Number(int group) => long.Parse(end.Groups[group].Value.Replace(",", ""));
        Assert.True(Number(1) > 0, stderr);
        // A realloc of a sampled block is one record and two events (its free and its allocation, alike in time and thread).
        var events = RecordingReader.Read(output).Events;
        var allocations = Enumerable.Range(0, events.Count).Where(i => events.Kind[i] == EventKind.Alloc).Select(i => (events.TimeNanos[i], events.Tid[i])).ToHashSet();
        // Only a resize's free: a free and the next malloc of a thread can share a clock reading.
        AllocFunction[] resizes = [AllocFunction.Realloc, AllocFunction.Reallocarray, AllocFunction.Rallocx];
        long resized = Enumerable.Range(0, events.Count).Count(i => events.Kind[i] == EventKind.Free && resizes.Contains(events.Function[i]) &&
            allocations.Contains((events.TimeNanos[i], events.Tid[i])));
        Assert.Equal(Number(1), events.Count);
        // One ring record per recorded event: a trapped event is in neither count, and a record
        // written but never recorded (a tick's 9 once went that way at the start) is in them.
        Assert.True(Number(2) + Number(3) == events.Count - resized, $"{events.Count} events, {resized} resized, {Number(2) + Number(3)} ring records\n{stderr}");
        Assert.DoesNotContain(File.ReadAllLines($"/proc/{pid}/maps"), l => l.Contains("memprof-rings", StringComparison.Ordinal));
    }

    /// <summary>reader_gone and dropped of the rings mapped in the process (memprof_ring.h).</summary>
    static (ulong ReaderGone, ulong Dropped) RingHeader(int pid)
    {
        var line = File.ReadAllLines($"/proc/{pid}/maps").Single(l => l.Contains("memprof-rings", StringComparison.Ordinal));
        ulong start = Convert.ToUInt64(line[..line.IndexOf('-')], 16);
        using var memory = ProcMemory.Open(pid);
        var header = new byte[128];
        Assert.True(memory.TryRead(start, header));
        return (BitConverter.ToUInt64(header, Profiler.Collectors.Linux.Ring.RingLayout.ReaderGoneOffset),
                BitConverter.ToUInt64(header, Profiler.Collectors.Linux.Ring.RingLayout.DroppedOffset));
    }

    [Fact]
    public void A_static_binary_fails_under_mode_inject_with_its_exit_code_and_auto_probes_it()
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-inject-static");
        string source = Path.Combine(dir.FullName, "spin.c"), binary = Path.Combine(dir.FullName, "spin");
        File.WriteAllText(source, "#include <stdlib.h>\n#include <unistd.h>\nvoid *volatile kept;\nint main(void){for(;;){kept = malloc(64); free(kept); usleep(1000);}}\n");
        Profiler.Tests.Elf.SystemTools.Run("gcc", "-static", "-O1", "-o", binary, source);
        using var target = ProcessRunner.Start(binary, []);
        Thread.Sleep(200);

        var inject = Memprof("record", "--mode", "inject", "--pid", target.Id.ToString(), "--duration", "1s", "--no-firefox", "-o", Path.Combine(dir.FullName, "s.memprof"));
        Assert.Equal(71, inject.ExitCode);
        Assert.Equal("memprof: cannot attach by injection: the program is statically linked: it has no allocator slots to redirect", inject.Stderr.Trim());
        Assert.False(File.Exists(Path.Combine(dir.FullName, "s.memprof")));

        // Auto falls back to probes, saying why in its first line and in the recording's header.
        var auto = Memprof("record", "--rate", "1", "--pid", target.Id.ToString(), "--duration", "1s", "--no-firefox", "-o", Path.Combine(dir.FullName, "a.memprof"));
        Assert.True(auto.ExitCode == 0, auto.Stderr);
        const string Why = "attach by injection not possible (the program is statically linked: it has no allocator slots to redirect): probing every allocator call";
        Assert.StartsWith($"memprof: every allocation, probes: {Why}; ", auto.Stderr.Split('\n')[0]);
        var probed = RecordingReader.Read(Path.Combine(dir.FullName, "a.memprof"));
        Assert.StartsWith(Why + "; ", probed.Header.Mode);
        Assert.True(probed.Events.Count > 0, "the static binary's mallocs were not probed");
        Assert.DoesNotContain(File.ReadAllLines($"/proc/{target.Id}/maps"), l => l.EndsWith(Profiler.Collectors.Linux.Preload.InjectLibrary.FileName, StringComparison.Ordinal));
        Assert.False(target.HasExited);
        dir.Delete(recursive: true);
    }

    /// <summary>memprof as its own process: the target is this process's child, and .NET's reaping
    /// of its children would swallow the ptrace stops of an in-process memprof.</summary>
    static ProcessResult Memprof(params string[] args)
    {
        using var memprof = CliRunner.StartOwnProcess(args);
        return memprof.WaitForExit(TimeSpan.FromSeconds(120));
    }

    /// <summary>The words of every allocator slot, as they are now.</summary>
    internal static Dictionary<ulong, ulong> Slots(int pid, ProcMemory memory)
    {
        var plan = GotInspector.Inspect(pid, memory).Plan;
        return plan.Apply.ToDictionary(s => s.Address, s => memory.ReadWord(s.Address) ?? 0);
    }

    /// <summary>What each allocator slot's calls reach now: a lazy slot not bound yet holds its PLT stub instead.</summary>
    internal static Dictionary<ulong, ulong> Reaches(int pid, ProcMemory memory) =>
        GotInspector.Inspect(pid, memory).Forwarding.Apply.ToDictionary(s => s.Slot.Address, s => s.Target);

    /// <summary>The slots not as <paramref name="before"/>, one line each. A lazy slot may hold the
    /// function it reached instead of its stub: a slot a killed or failed detach left redirected is
    /// put back by the next attach to the function, which is all that is known of it then.</summary>
    internal static List<string> SlotsMoved(Dictionary<ulong, ulong> before, Dictionary<ulong, ulong> reaches, Dictionary<ulong, ulong> now) =>
        [.. before.Where(s => !now.TryGetValue(s.Key, out ulong v) || v != s.Value && !(reaches.TryGetValue(s.Key, out ulong f) && f != s.Value && v == f))
            .Select(s => $"0x{s.Key:x}: 0x{s.Value:x} (reaching 0x{reaches.GetValueOrDefault(s.Key):x}) -> {(now.TryGetValue(s.Key, out ulong v) ? $"0x{v:x}" : "gone")}")];

    /// <summary>The sample sleeps between ticks: each sleep is a voluntary context switch.</summary>
    static long TicksOf(int pid) =>
        long.Parse(File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)).Split(':')[1].Trim());
}
