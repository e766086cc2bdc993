using System.Diagnostics;
using System.Runtime.InteropServices;
using Profiler.Collectors.Linux.Inject;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Tests.Elf;
using Xunit.Abstractions;

namespace Profiler.Integration.Tests;

/// <summary>Reading, redirecting and restoring the allocator slots of live, allocating processes:
/// first a write of the very value each slot holds (with the program running), then, with its
/// threads stopped, each slot pointed straight at the function it resolves to (an unbound lazy
/// slot thus changes), the program run on, and everything put back. The programs check every
/// block they free and must end with their normal output.</summary>
public sealed partial class GotPatchTests(GotTargets targets, ITestOutputHelper output) : IClassFixture<GotTargets>
{
    const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    const string LibJemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
    const string Python = "/usr/bin/python3.11";

    [Fact]
    public void A_lazily_bound_program_gets_its_unbound_slots_resolved_to_libc_and_put_back()
    {
        RootRequired.Check();
        using var target = Target.Start(targets.Lazy);
        var inspection = Run(target, expectedAllocator: Libc);

        var own = inspection.Forwarding.Apply.Where(s => s.Slot.Module.Path == targets.Lazy).ToList();
        Assert.Equal(["aligned_alloc", "calloc", "free", "malloc", "memalign", "posix_memalign", "pvalloc", "realloc", "reallocarray", "valloc"],
            own.Select(s => s.Slot.Symbol).Distinct().Order());
        Assert.Contains(own, s => s.Slot.Reference.Kind == SlotKind.DataPointer);
        // Not called before "late": still on their PLT stubs.
        Assert.All(own.Where(s => s.Slot.Symbol is "valloc" or "pvalloc" or "memalign" or "reallocarray"), s => Assert.False(s.Bound, s.ToString()));
    }

    [Fact]
    public void A_program_bound_at_load_has_its_read_only_got_written_and_put_back()
    {
        RootRequired.Check();
        using var target = Target.Start(targets.BoundAtLoad);
        var maps = ProcMaps.Read(target.Pid);
        var inspection = Run(target, expectedAllocator: Libc);

        var own = inspection.Forwarding.Apply.Where(s => s.Slot.Module.Path == targets.BoundAtLoad).ToList();
        Assert.Equal(14, own.Count);
        Assert.All(own, s => Assert.True(s.Bound, s.ToString()));
        // Full RELRO: the program's slots are on read-only pages, written all the same.
        Assert.All(own, s => Assert.Equal("r--p", maps.Single(m => s.Slot.Address >= m.Start && s.Slot.Address < m.End).Permissions));
    }

    /// <summary>A library deleted since it was loaded (a package upgraded under a running server)
    /// is read through /proc/PID/map_files, so its slots are still found and redirected.</summary>
    [Fact]
    public void A_library_deleted_since_it_was_loaded_is_still_patched()
    {
        RootRequired.Check();
        string copy = Path.Combine(targets.Directory, "libz-copy.so.1");
        File.Copy("/usr/lib/x86_64-linux-gnu/libz.so.1", copy, overwrite: true);
        using var target = Target.Start(targets.Lazy, new Dictionary<string, string> { ["LD_PRELOAD"] = copy });
        File.Delete(copy);
        var inspection = Run(target, expectedAllocator: Libc);

        var deleted = inspection.Forwarding.Apply.Where(s => s.Slot.Module.Path == copy + " (deleted)").ToList();
        Assert.Equal(["free", "malloc"], deleted.Select(s => s.Slot.Symbol).Order());
    }

    [Fact]
    public void Python_not_being_pie_has_libcs_slots_bound_to_its_plt_and_they_forward_to_libc()
    {
        RootRequired.Check();
        using var target = Target.Start(Python, "-c", GotTargets.PythonScript);
        var inspection = Run(target, expectedAllocator: Libc);

        var libcFree = inspection.Forwarding.Apply.Single(s => s.Slot.Module.Path == Libc && s.Slot.Symbol == "free");
        var python = inspection.Plan.Modules.Single(m => m.Path == Python);
        Assert.False(libcFree.Bound);
        Assert.InRange(libcFree.Found, python.LoadBias + 0x400000, python.LoadBias + 0x1000000);
    }

    [Fact]
    public void Where_libjemalloc_is_the_allocator_every_slot_libcs_included_forwards_to_jemalloc()
    {
        RootRequired.Check();
        using var target = Target.Start(RepoPaths.Sample("allocs-jemalloc-dyn"), "serve");
        var inspection = Run(target, expectedAllocator: LibJemalloc, stopWithSignal: true);

        Assert.Contains(inspection.Forwarding.Apply, s => s.Slot.Module.Path == Libc && s.Slot.Symbol == "malloc" && s.Bound);
        Assert.Contains("mallocx", inspection.Forwarding.Targets.Keys);
    }

    /// <summary>Redirect and restore 100 times while the threads allocate (each time slots bound
    /// lazily meanwhile are found again): the program never notices.</summary>
    [Fact]
    public void A_hundred_redirect_and_restore_cycles_leave_the_program_as_it_was()
    {
        RootRequired.Check();
        using var target = Target.Start(targets.Lazy);
        target.Send("late");
        using var memory = ProcMemory.Open(target.Pid);
        var patcher = new GotPatcher(memory);
        var original = GotInspector.Inspect(target.Pid, memory).Forwarding.Apply.ToDictionary(s => s.Slot.Address, s => s.Target);
        int changed = 0;
        for (int cycle = 0; cycle < 100; cycle++)
        {
            target.Stop();
            var forwarding = GotInspector.Inspect(target.Pid, memory).Forwarding;
            Assert.Empty(forwarding.Skipped);
            Assert.Equal(original, forwarding.Apply.ToDictionary(s => s.Slot.Address, s => s.Target));
            var patch = patcher.Apply(forwarding, s => s.Target);
            Assert.Null(patch.Failure);
            changed += patch.Applied.Count(s => s.Found != s.Written);
            target.Continue();
            Thread.Sleep(5);
            target.Stop();
            Assert.Empty(patcher.Lost(patch));
            var restore = patcher.Restore(patch);
            Assert.Equal(patch.Applied.Count, restore.Restored.Count);
            target.Continue();
        }
        output.WriteLine($"{changed} slot writes changed a value over 100 cycles");
        Assert.True(changed > 0, "no write changed a slot: the lazy slots were all bound already");

        var (exitCode, lastLine) = target.Finish();
        output.WriteLine(lastLine);
        Assert.Equal(0, exitCode);
        Assert.Matches(@"^ok checks=[1-9]\d* late=[1-9]", lastLine);
    }

    GotInspection Run(Target target, string expectedAllocator, bool stopWithSignal = false)
    {
        using var memory = ProcMemory.Open(target.Pid);
        var inspection = GotInspector.Inspect(target.Pid, memory);
        foreach (var slot in inspection.Forwarding.Apply) output.WriteLine(slot.ToString());
        foreach (var skip in inspection.Plan.Skipped.Concat(inspection.Forwarding.Skipped)) output.WriteLine($"skipped {skip}");

        Assert.NotNull(inspection.LinkMap);
        Assert.True(inspection.LinkMap.IsConsistent);
        Assert.Empty(inspection.Plan.Skipped);
        Assert.Empty(inspection.Forwarding.Skipped);
        AssertTargetsAreTheAllocatorsExports(inspection, target.Pid, expectedAllocator);
        var patcher = new GotPatcher(memory);

        // 1. The same value back into every slot, the program running: writes land on RELRO pages.
        var same = patcher.Apply(inspection.Forwarding, s => s.Found);
        Assert.Null(same.Failure);
        Assert.Equal(inspection.Forwarding.Apply.Count, same.Applied.Count);
        var undone = patcher.Restore(same);
        Assert.Equal(same.Applied.Count, undone.Restored.Count);

        // 2. Each slot straight to its function, threads stopped while slots change.
        target.Stop();
        var now = GotInspector.Inspect(target.Pid, memory);
        var patch = patcher.Apply(now.Forwarding, s => s.Target);
        target.Continue();
        Assert.Null(patch.Failure);
        Assert.Empty(patch.Skipped);
        Assert.Equal(now.Forwarding.Apply.Count, patch.Applied.Count);
        output.WriteLine($"{patch.Applied.Count} slots redirected, {patch.Applied.Count(s => s.Found != s.Written)} of them changed");
        target.Send("late");
        Thread.Sleep(300);
        Assert.Empty(patcher.Lost(patch));
        Assert.False(target.Process.HasExited, "the program died with its slots redirected");

        target.Stop();
        var restore = patcher.Restore(patch);
        Assert.Equal(patch.Applied.Count, restore.Restored.Count);
        Assert.All(patch.Applied, s => Assert.Equal(s.Found, memory.ReadWord(s.Slot.Slot.Address)));
        target.Continue();

        var (exitCode, lastLine) = stopWithSignal ? target.Terminate() : target.Finish();
        output.WriteLine(lastLine);
        if (!stopWithSignal)
        {
            Assert.Equal(0, exitCode);
            Assert.Matches(@"^ok checks=[1-9]\d* late=[1-9]", lastLine);
        }
        return inspection;
    }

    /// <summary>Every forwarding target is the allocator library's own definition (nm -D), at its load bias.</summary>
    void AssertTargetsAreTheAllocatorsExports(GotInspection inspection, int pid, string allocator)
    {
        var start = ProcMaps.Read(pid).First(m => m.Path == allocator && m.FileOffset == 0).Start;
        var exports = SystemTools.Lines(SystemTools.Run("nm", "-D", "--defined-only", allocator))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length == 3 && fields[1] is "T" or "W" && (!fields[2].Contains('@') || fields[2].Contains("@@")))
            .GroupBy(fields => fields[2].Split('@')[0])
            .ToDictionary(g => g.Key, g => start + Convert.ToUInt64(g.First()[0], 16));
        Assert.NotEmpty(inspection.Forwarding.Targets);
        foreach (var (symbol, address) in inspection.Forwarding.Targets)
            Assert.True(exports.GetValueOrDefault(symbol) == address, $"{symbol} forwards to 0x{address:x}, {allocator} defines it at 0x{exports.GetValueOrDefault(symbol):x}");
    }

    /// <summary>A program under test driven line by line; killed if a test leaves it running.</summary>
    sealed partial class Target : IDisposable
    {
        public required RunningProcess Process { get; init; }
        public int Pid => Process.Id;

        public static Target Start(string program, params string[] arguments) => Start(program, [], arguments);

        public static Target Start(string program, Dictionary<string, string> environment, params string[] arguments)
        {
            var options = new ProcessOptions { Interactive = true };
            foreach (var (name, value) in environment) options = options.WithEnvironment(name, value);
            var target = new Target { Process = RunningProcess.Start(program, arguments, options) };
            Assert.StartsWith("ready", target.Process.ReadLine(TimeSpan.FromSeconds(30)));
            return target;
        }

        public void Send(string line) => Process.Send(line);

        /// <summary>SIGSTOP, then wait until every thread shows it (state T).</summary>
        public void Stop()
        {
            Assert.Equal(0, Kill(Pid, 19));
            var clock = Stopwatch.StartNew();
            while (!Directory.GetDirectories($"/proc/{Pid}/task").All(task => State(task) == 'T'))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "the program's threads did not all stop");
                Thread.Sleep(1);
            }
        }

        public void Continue() => Assert.Equal(0, Kill(Pid, 18));

        public (int ExitCode, string LastLine) Finish()
        {
            Send("stop");
            var result = Process.WaitForExit(TimeSpan.FromSeconds(30));
            return (result.ExitCode, result.Stdout.Trim().Split('\n')[^1]);
        }

        public (int ExitCode, string LastLine) Terminate()
        {
            Assert.False(Process.HasExited, "the program died");
            Assert.Equal(0, Kill(Pid, 15));
            return (Process.WaitForExit(TimeSpan.FromSeconds(30)).ExitCode, "");
        }

        static char State(string task)
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                return stat[stat.LastIndexOf(')') + 2];
            }
            catch (IOException) { return 'T'; } // a thread that ended meanwhile
        }

        [LibraryImport("libc", EntryPoint = "kill")]
        private static partial int Kill(int pid, int signal);

        public void Dispose() => Process.Dispose();
    }
}
