using Profiler.Core.Analysis;
using Profiler.Core.Recording;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>Exact mode through the shared rings: a launched program's events reach memprof
/// without a trap each, nothing is lost (a full ring makes the program wait), threads each write
/// their own ring, and a program whose memprof is killed runs on to its end.</summary>
public sealed class SharedRingTests
{
    [Theory]
    [InlineData("allocs-fp")]
    [InlineData("allocs-nofp")]
    public void Every_manifest_site_is_exact_with_nothing_lost_and_every_free_paired(string variant)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(variant);
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-ring");
        try
        {
            var output = Path.Combine(dir.FullName, "allocs.memprof");
            // Rings of the smallest size, so that the program has to wait for memprof now and then.
            var result = CliRunner.Run("record", "--rate", "1", "--buffer", "1MiB", "--no-firefox", "-o", output, "--", sample);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("events through shared rings", result.Stderr);
            Assert.DoesNotContain("trapped instead", result.Stderr);

            var model = RecordingLoader.Load(output, TextWriter.Null);
            Assert.Equal(0UL, model.Info.LostEvents);
            var problems = SiteTotals.Mismatches(manifest, SiteTotals.Of(model)).ToList();
            Assert.True(problems.Count == 0, string.Join("\n", problems));
            var raw = RecordingReader.Read(output);
            // Every call the library counted has its event (the counters are exact and independent of the rings).
            
            var last = raw.Counters.Where(c => c.Pid == raw.Header.TargetPid).MaxBy(c => c.TimeNanos)!;
            var events = raw.Events;
            long allocs = 0, frees = 0;
            long start = LastExec(raw, raw.Header.TargetPid);
            for (int i = 0; i < events.Count; i++)
            {
                if (events.Pid[i] != raw.Header.TargetPid || events.TimeNanos[i] < start) continue;
                if (events.Kind[i] == EventKind.Alloc) allocs++;
                else frees++;
            }
            Assert.Equal((long)last.Allocations, allocs);
            Assert.Equal((long)last.Frees, frees);
            // Every free the command's image recorded is of a block whose allocation was recorded
            // (before its exec the process was memprof's launcher shell).
            var heap = HeapAnalysis.Compute(model);
            var ev = model.Events;
            long commandStart = LastExec(raw, model.Info.TargetPid);
            var unpaired = Enumerable.Range(0, ev.Count)
                .Where(i => ev.Kind[i] == EventKind.Free && ev.TimeNanos[i] >= commandStart && heap.Releases[i] < 0)
                .Select(i => $"{ev.Address[i]:x} at {ev.TimeNanos[i]} ns in {(SiteAnalysis.SiteOf(model.Tables, ev.Stack[i]) is { } f ? model.Tables.Function(f).Name : "?")} " +
                             $"(events at that address: {string.Join(", ", Enumerable.Range(0, ev.Count).Where(j => ev.Address[j] == ev.Address[i]).Select(j => $"{ev.Kind[j]} at {ev.TimeNanos[j]} ns in thread {ev.Tid[j]}"))})")
                .ToList();
            Assert.True(unpaired.Count == 0, $"frees without their allocation (the command started at {commandStart}): {string.Join("; ", unpaired)}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_threaded_program_that_forks_execs_and_allocates_in_signal_handlers_is_recorded_whole()
    {
        RootRequired.Check();
        var stress = RepoPaths.Sample("stress");
        var dir = Directory.CreateTempSubdirectory("memprof-ring-threads");
        try
        {
            var output = Path.Combine(dir.FullName, "stress.memprof");
            var report = Path.Combine(dir.FullName, "stress.out");
            var result = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", output, "--", "/bin/sh", "-c", $"'{stress}' 1 > '{report}'");
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("events through shared rings", result.Stderr);
            string said = File.ReadAllText(report).Trim();
            Assert.StartsWith("ok allocations=", said);
            long own = long.Parse(said.Split(' ')[1].Split('=')[1], System.Globalization.CultureInfo.InvariantCulture);

            var raw = RecordingReader.Read(output);
            Assert.Equal(0UL, raw.LostEvents);
            // Per process: every allocation and free the library counted has its event.
            var events = raw.Events;
            // The counters restart with each image (exec): events are compared with those of the last.
            var byPid = new Dictionary<uint, (long Allocs, long Frees, HashSet<uint> Threads)>();
            for (int i = 0; i < events.Count; i++)
            {
                if (events.TimeNanos[i] < LastExec(raw, events.Pid[i])) continue;
                var (a, f, threads) = byPid.GetValueOrDefault(events.Pid[i], (0, 0, []));
                threads.Add(events.Tid[i]);
                byPid[events.Pid[i]] = events.Kind[i] == EventKind.Alloc ? (a + 1, f, threads) : (a, f + 1, threads);
            }
            var problems = new List<string>();
            // Only counters read from the last image: a fork child read between its fork and its exec
            // (of /bin/true, which then exits before it is read again) shows the image it left.
            foreach (var counters in raw.Counters.Where(c => c.TimeNanos >= LastExec(raw, c.Pid)).GroupBy(c => c.Pid).Select(g => g.MaxBy(c => c.TimeNanos)!))
            {
                var (a, f, _) = byPid.GetValueOrDefault(counters.Pid, (0, 0, []));
                if (a != (long)counters.Allocations || f != (long)counters.Frees)
                    problems.Add($"pid {counters.Pid}: {a} allocation and {f} free events for {counters.Allocations} and {counters.Frees} counted calls " +
                                 $"(counters at {counters.TimeNanos} ns; {Describe(raw, counters.Pid)})");
            }
            Assert.True(problems.Count == 0, string.Join("\n", problems));
            // The process that ran the threads recorded at least its own calls, from all its threads.
            var busiest = byPid.Values.MaxBy(p => p.Allocs);
            Assert.True(busiest.Allocs >= own, $"{busiest.Allocs} allocation events, the program made {own}");
            Assert.True(busiest.Threads.Count >= 9, $"events from {busiest.Threads.Count} threads");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>200 threads hold a ring each at once (many-threads: each allocates its blocks, all
    /// wait for each other, then each frees its own): with 64 rings, 136 of them trapped every
    /// event with a stack copy into the kernel's buffer, which lost half of them.</summary>
    [Fact]
    public void Two_hundred_threads_allocating_at_once_each_write_a_ring_with_nothing_trapped_or_lost()
    {
        RootRequired.Check();
        const int threads = 200, blocks = 100;
        var sample = RepoPaths.Sample("many-threads");
        var dir = Directory.CreateTempSubdirectory("memprof-ring-many");
        try
        {
            var output = Path.Combine(dir.FullName, "many.memprof");
            var report = Path.Combine(dir.FullName, "many.out");
            var result = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", output, "--", "/bin/sh", "-c", $"'{sample}' {threads} {blocks} > '{report}'");
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("events through shared rings", result.Stderr);
            Assert.DoesNotContain("trapped instead", result.Stderr);
            Assert.DoesNotContain("LOST", result.Stderr);

            // The program's ground truth, from its source (many_threads.c): per thread a pointer
            // array and its blocks, all allocated in thread_allocate and freed in thread_free.
            long calls = threads * (blocks + 1L), bytes = 0;
            for (int t = 0; t < threads; t++)
            {
                bytes += blocks * 8L;
                for (int i = 0; i < blocks; i++) bytes += 24 + (t * 7 + i * 13) % 1977;
            }
            Assert.Equal($"ok threads={threads} allocations={calls} bytes={bytes}", File.ReadAllText(report).Trim());

            var model = RecordingLoader.Load(output, TextWriter.Null);
            Assert.Equal(0UL, model.Info.LostEvents);
            var heap = HeapAnalysis.Compute(model);
            var ev = model.Events;
            string SiteName(int i) => SiteAnalysis.SiteOf(model.Tables, ev.Stack[i]) is { } f ? model.Tables.Function(f).Name : "?";
            var allocated = Enumerable.Range(0, ev.Count).Where(i => ev.Kind[i] == EventKind.Alloc && SiteName(i) == "thread_allocate").ToList();
            Assert.Equal(calls, allocated.Count);
            Assert.Equal(bytes, allocated.Sum(i => (long)ev.Size[i]));
            // Every thread's events came from that thread, and each block's free was recorded, in thread_free.
            Assert.Equal(threads, allocated.Select(i => ev.Tid[i]).Distinct().Count());
            var unfreed = allocated.Where(i => heap.FreedBy[i] < 0).ToList();
            Assert.True(unfreed.Count == 0, $"{unfreed.Count} of {calls} blocks without their free");
            // (free(kept) ends thread_free: a tail call, whose caller is run.)
            Assert.All(allocated, i => Assert.Contains(SiteName(heap.FreedBy[i]), new[] { "thread_free", "run" }));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>signal-storm's main thread allocates without pause while two signals a millisecond
    /// or more interrupt it, each handler allocating and freeing a block: many land in the middle
    /// of the thread's own ring write. Their events must come through the ring (held by the thread
    /// and written after the interrupted record), not trap on the markers with a stack copy into
    /// the kernel's small ring buffer; every one recorded, with a stack through its handler to main.</summary>
    [Fact]
    public void Events_of_signal_handlers_that_interrupt_a_ring_write_go_through_the_ring_and_all_are_recorded()
    {
        RootRequired.Check();
        var storm = RepoPaths.Sample("signal-storm");
        var dir = Directory.CreateTempSubdirectory("memprof-ring-signals");
        try
        {
            var output = Path.Combine(dir.FullName, "storm.memprof");
            var report = Path.Combine(dir.FullName, "storm.out");
            var stop = Path.Combine(dir.FullName, "stop");
            var result = CliRunner.Run("record", "--rate", "1", "--no-firefox", "--no-follow", "-o", output, "--", "/bin/sh", "-c",
                $"(sleep 3; : > '{stop}') & exec '{storm}' '{stop}' busy 20 > '{report}'");
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Contains("events through shared rings", result.Stderr);
            string said = File.ReadAllLines(report).Last();
            Assert.StartsWith("ok sent=", said);
            var numbers = said.Split(' ').Skip(1).Select(w => w.Split('=')).ToDictionary(w => w[0], w => long.Parse(w[1], System.Globalization.CultureInfo.InvariantCulture));
            long handlerCalls = numbers["received"] + numbers["alarms"];

            // Handlers' events came through the rings. While memprof is slow to read (a loaded host),
            // the interrupted write waits for room and queued signals' handlers run back to back:
            // past what the thread's stash holds, they trap on the markers (recorded all the same).
            long stashed = Said(result.Stderr, "events of signal handlers that interrupted a ring write went into the ring after it");
            long trapped = Said(result.Stderr, "events of threads beyond the shared rings were trapped instead") +
                           Said(result.Stderr, "events of signal handlers that interrupted a ring write were trapped instead");
            Assert.True(stashed > 0 && trapped * 10 <= stashed, result.Stderr);

            var raw = RecordingReader.Read(output);
            Assert.Equal(0UL, raw.LostEvents);
            uint pid = raw.Header.TargetPid;
            long start = LastExec(raw, pid);
            var last = raw.Counters.Where(c => c.Pid == pid && c.TimeNanos >= start).MaxBy(c => c.TimeNanos)!;
            // Every call the library counted has its event (the counters are independent of the rings).
            long allocs = 0, frees = 0, inHandler = 0;
            for (int i = 0; i < raw.Events.Count; i++)
            {
                if (raw.Events.Pid[i] != pid || raw.Events.TimeNanos[i] < start) continue;
                if (raw.Events.Kind[i] == EventKind.Alloc) allocs++;
                else frees++;
            }
            var model = RecordingLoader.Load(output, TextWriter.Null);
            var ev = model.Events;
            var strays = new List<string>();
            for (int i = 0; i < ev.Count; i++)
            {
                if (ev.Pid[i] != pid || ev.TimeNanos[i] < start || ev.Kind[i] != EventKind.Alloc) continue;
                var names = model.Tables.FramesLeafFirst(ev.Stack[i]).Select(model.Tables.FunctionName).ToList();
                if (!names.Contains("allocate_in_handler")) continue;
                inHandler++;
                if (!(names.Contains("on_alarm") || names.Contains("on_queued")) || !names.Contains("main"))
                    strays.Add(string.Join(" <- ", names));
            }
            // Each handler call allocates one block (and frees it, by a tail call: its site is the handler's).
            Assert.True(handlerCalls == inHandler && (long)last.Allocations == allocs && (long)last.Frees == frees,
                $"{inHandler} allocations in handlers for {handlerCalls} calls; {allocs} allocations and {frees} frees for {last.Allocations} and {last.Frees} counted");
            Assert.True(strays.Count == 0, $"{strays.Count} handler stacks not through their handler to main, e.g. {strays.FirstOrDefault()}");
        }
        finally
        {
            KillLeftovers(dir.FullName);
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_program_whose_memprof_is_killed_runs_to_its_end_and_the_recording_so_far_is_readable()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-fp");
        var dir = Directory.CreateTempSubdirectory("memprof-ring-kill");
        var output = Path.Combine(dir.FullName, "k.memprof");
        var done = Path.Combine(dir.FullName, "done");
        try
        {
            // Millions of events: far more than the rings hold, so the program waits on memprof when it dies.
            using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--buffer", "1MiB", "--no-firefox", "-o", output, "--",
                "/bin/sh", "-c", $"'{sample}' bench 20000000 > '{done}.part' && mv '{done}.part' '{done}'");
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (!File.Exists(output + ".partial") && waited.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(50);
            Assert.True(File.Exists(output + ".partial"), "memprof never started recording");
            Thread.Sleep(2000);
            Assert.False(File.Exists(done), "the program ended before memprof was killed: give it more work");
            // memprof alone (RunningProcess.Kill would end the program too).
            System.Diagnostics.Process.GetProcessById(memprof.Id).Kill(entireProcessTree: false);

            // Writers find memprof gone (its pid, else its heartbeat) and drop instead of waiting.
            waited.Restart();
            while (!File.Exists(done) && waited.Elapsed < TimeSpan.FromSeconds(90)) Thread.Sleep(100);
            Assert.True(File.Exists(done), $"the program did not finish within {waited.Elapsed.TotalSeconds:0} s of memprof's death");
            Assert.StartsWith("ns_per_pair", File.ReadAllText(done));

            var recording = RecordingReader.Read(output + ".partial");
            Assert.True(recording.Events.Count > 1000, $"{recording.Events.Count} events survived");
        }
        finally
        {
            KillLeftovers(dir.FullName);
            dir.Delete(recursive: true);
        }
    }

    /// <summary>When the process's last image started (0: it never exec'd while recorded).</summary>
    /// <summary>What the recording says of a process, for a failure's message: its events at any
    /// time, its forks and execs.</summary>
    static string Describe(RawRecording raw, uint pid)
    {
        var events = raw.Events;
        var times = Enumerable.Range(0, events.Count).Where(i => events.Pid[i] == pid).Select(i => events.TimeNanos[i]).ToList();
        string span = times.Count == 0 ? "none" : $"{times.Count} from {times.Min()} to {times.Max()} ns";
        return $"events {span}; execs at {string.Join(", ", raw.Execs.Where(e => e.Pid == pid).Select(e => $"{e.TimeNanos} ({e.Name})"))}; " +
               $"forked {string.Join(", ", raw.Forks.Where(f => f.Pid == pid).Select(f => $"at {f.TimeNanos} from {f.ParentPid}"))}";
    }

    /// <summary>The count memprof's summary gives before `what` (0 when it says nothing of it).</summary>
    static long Said(string stderr, string what)
    {
        var said = System.Text.RegularExpressions.Regex.Match(stderr, @"([\d,]+) " + System.Text.RegularExpressions.Regex.Escape(what));
        return said.Success ? long.Parse(said.Groups[1].Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    static long LastExec(RawRecording raw, uint pid) =>
        raw.Execs.Where(e => e.Pid == pid).Select(e => e.TimeNanos).DefaultIfEmpty(0).Max();

    /// <summary>A program that hung would outlive the test: end it by pid (its shell's command line
    /// names the test's directory; the program is that shell's child).</summary>
    static void KillLeftovers(string marker)
    {
        var processes = new List<(int Pid, int Parent, string Command)>();
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out int pid) || pid == Environment.ProcessId) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(proc, "stat"));
                int parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                processes.Add((pid, parent, File.ReadAllText(Path.Combine(proc, "cmdline"))));
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        var shells = processes.Where(p => p.Command.Contains(marker, StringComparison.Ordinal)).Select(p => p.Pid).ToHashSet();
        foreach (var (pid, parent, _) in processes)
        {
            if (!shells.Contains(pid) && !shells.Contains(parent)) continue;
            try { System.Diagnostics.Process.GetProcessById(pid).Kill(); }
            catch (ArgumentException) { }
            catch (InvalidOperationException) { }
        }
    }
}
