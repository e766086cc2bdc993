using System.Runtime.InteropServices;
using Profiler.Collectors.Linux.Inject;
using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Integration.Tests.Inject;

/// <summary>What a load must leave behind in its target: no tracer, no debug register set, code
/// exactly as in the files.</summary>
static partial class TargetChecks
{
    [LibraryImport("libc", EntryPoint = "kill")]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "gettid")]
    public static partial int GetTid();

    public static IReadOnlyList<int> Threads(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task").Select(d => int.Parse(Path.GetFileName(d))).ToList();

    /// <summary>The thread's tracer (0: none, or the thread is gone).</summary>
    public static int TracerOf(int pid, int tid)
    {
        try
        {
            var line = File.ReadAllLines($"/proc/{pid}/task/{tid}/status").First(l => l.StartsWith("TracerPid:", StringComparison.Ordinal));
            return int.Parse(line["TracerPid:".Length..].Trim());
        }
        catch (IOException) { return 0; }
    }

    public static void AssertNotTraced(int pid)
    {
        foreach (int tid in Threads(pid))
        {
            string status;
            try { status = File.ReadAllText($"/proc/{pid}/task/{tid}/status"); }
            catch (IOException) { continue; } // the thread ended meanwhile
            var line = status.Split('\n').First(l => l.StartsWith("TracerPid:"));
            Assert.True(line.EndsWith("\t0") || line.Trim() == "TracerPid:\t0", $"thread {tid} is still traced: {line}");
        }
    }

    /// <summary>Every thread's debug control register is clear. Read through ptrace (the only
    /// way to see them), on a thread of its own as ptrace requires.</summary>
    public static void AssertNoDebugRegisters(int pid)
    {
        var problems = new List<string>();
        int read = 0;
        var thread = new Thread(() =>
        {
            var ptrace = new Ptrace();
            foreach (int tid in Threads(pid))
            {
                int errno = ptrace.Seize(tid);
                if (errno == 3) continue; // the thread ended meanwhile
                if (errno != 0) { problems.Add($"thread {tid} cannot be seized (errno {errno})"); continue; }
                ptrace.Interrupt(tid);
                if (ptrace.Wait(tid, TimeSpan.FromSeconds(2)) is not { Kind: not PtraceStopKind.Gone } stop) continue;
                if (stop is { Kind: PtraceStopKind.Signal, Signal: PtraceStatus.SIGTRAP })
                {
                    // A trap while untraced would have killed the program: this one is a leftover breakpoint.
                    ptrace.GetSignalCode(tid, out int code);
                    ptrace.GetRegisters(tid, out var regs);
                    problems.Add($"thread {tid} trapped (si_code {code}) at 0x{regs.Rip:x}");
                    stop = stop with { Signal = 0 };
                }
                if (ptrace.GetDebugRegister(tid, 7, out var dr7) == 0)
                {
                    read++;
                    if (dr7 != 0) problems.Add($"thread {tid} has DR7 = 0x{dr7:x}");
                }
                // The interrupt ends an epoll_wait as a signal does: restarted, not EINTR, as memprof does.
                RemoteLoaderIdlePoint.RestartWait(ptrace, tid);
                ptrace.Detach(tid, stop.Kind == PtraceStopKind.Signal ? stop.Signal : 0);
            }
        });
        thread.Start();
        thread.Join();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(read > 0, "no thread's debug registers could be read");
    }

    /// <summary>The executable mappings of every file hold the file's bytes (past the file's end, zeros).
    /// With <paramref name="segmentsOnly"/>, only the bytes of the files' executable segments are
    /// compared: the unused tail of a segment's last page is where the loader's stub was written,
    /// and a loader killed mid-call cannot put its bytes back (nothing ever runs or reads them).</summary>
    public static void AssertCodeMatchesFiles(int pid, bool segmentsOnly = false)
    {
        // A probe's breakpoints go once its link is released, which the kernel finishes after a
        // grace period of its own when the loader died or just exited: bounded, not immediate.
        // On a loaded host a dead loader's uprobe was seen to stay in place for more than 10 s
        // (the program ran on through it, so it was still registered): an int3 is given a minute.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (CodeDifference(pid, segmentsOnly, out bool breakpoint) is { } difference)
        {
            var bound = TimeSpan.FromSeconds(breakpoint ? 60 : 10);
            Assert.True(clock.Elapsed < bound, $"{difference} (for {bound.TotalSeconds:0} s)");
            Thread.Sleep(20);
        }
        if (clock.Elapsed > TimeSpan.FromSeconds(1))
            Console.WriteLine($"the code of process {pid} matched its files after {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Where the first breakpoint in the process's code is that its files do not hold; null if none.</summary>
    public static string? Breakpoint(int pid) => CodeDifference(pid, segmentsOnly: false, out bool breakpoint) is { } at && breakpoint ? at : null;

    static string? CodeDifference(int pid, bool segmentsOnly, out bool breakpoint)
    {
        breakpoint = false;
        using var mem = new FileStream($"/proc/{pid}/mem", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        int compared = 0;
        foreach (var map in ProcMaps.Read(pid).Where(m => m.IsFile && m.IsExecutable))
        {
            var inMemory = new byte[map.End - map.Start];
            mem.Position = (long)map.Start;
            mem.ReadExactly(inMemory);
            var inFile = new byte[inMemory.Length];
            using (var file = File.OpenRead(map.Path))
            {
                file.Position = (long)map.FileOffset;
                file.ReadAtLeast(inFile, inFile.Length, throwOnEndOfStream: false);
            }
            if (segmentsOnly) BlankOutsideSegments(map, inMemory, inFile);
            int at = inMemory.AsSpan().CommonPrefixLength(inFile);
            if (at != inMemory.Length)
            {
                breakpoint = inMemory[at] == 0xcc;
                return $"{map.Path} differs from its file at 0x{map.Start + (ulong)at:x} (file offset 0x{map.FileOffset + (ulong)at:x}: " +
                       $"0x{inMemory[at]:x2} in memory, 0x{inFile[at]:x2} in the file)";
            }
            compared++;
        }
        Assert.True(compared >= 3, $"only {compared} executable mappings compared");
        return null;
    }

    /// <summary>Every loaded module's dynamic symbol table holds the file's bytes: no definition
    /// is left pointing at the sampler. Returns how many tables were compared.</summary>
    public static int AssertSymbolTablesMatchFiles(int pid)
    {
        using var mem = new FileStream($"/proc/{pid}/mem", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        var maps = ProcMaps.Read(pid);
        var code = maps.Where(m => m.IsFile && m.IsExecutable).Select(m => m.Path).ToHashSet();
        int compared = 0;
        foreach (var start in maps.Where(m => m.IsFile && m.FileOffset == 0 && code.Contains(m.Path)).DistinctBy(m => m.Path))
        {
            if (!Profiler.Symbols.Elf.ElfFile.TryOpen(start.Path, out var elf, out _)) continue;
            using (elf)
            {
                if (elf.FindSection(".dynsym") is not { } dynsym || elf.LoadSegments.Count == 0) continue;
                ulong bias = start.Start - (elf.LoadSegments.Min(s => s.VirtualAddress) & ~0xfffUL);
                var inMemory = new byte[dynsym.Size];
                mem.Position = (long)(bias + dynsym.Address);
                mem.ReadExactly(inMemory);
                var inFile = new byte[dynsym.Size];
                using (var file = File.OpenRead(start.Path))
                {
                    file.Position = (long)dynsym.Offset;
                    file.ReadExactly(inFile);
                }
                int at = inMemory.AsSpan().CommonPrefixLength(inFile);
                Assert.True(at == inMemory.Length, $"{start.Path}: .dynsym differs from its file at entry {at / 24}");
                compared++;
            }
        }
        return compared;
    }

    static void BlankOutsideSegments(MapEntry map, byte[] inMemory, byte[] inFile)
    {
        if (!Profiler.Symbols.Elf.ElfFile.TryOpen(map.Path, out var elf, out _)) return;
        using (elf)
        {
            var code = elf.LoadSegments.Where(s => (s.Flags & Profiler.Symbols.Elf.ElfSegmentFlags.Execute) != 0).ToList();
            for (int i = 0; i < inMemory.Length; i++)
            {
                ulong offset = map.FileOffset + (ulong)i;
                if (!code.Any(s => s.FileOffset <= offset && offset < s.FileOffset + s.FileSize)) inMemory[i] = inFile[i] = 0;
            }
        }
    }

    public static void AssertMapped(int pid, string library) =>
        Assert.Contains(ProcMaps.Read(pid), m => m.Path == library);

    /// <summary>Waits (bounded) until every thread of a killed process has let go of its files.
    /// The target is untraced as soon as the tracing thread exits, but the safe point's uprobe
    /// lives until the last thread closes the link's descriptor: only then are the code pages
    /// the files' again.</summary>
    public static void WaitUntilFilesClosed(int pid)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // The uprobe's removal visits every process that maps the probed file: on a busy host
        // the dying loader's last close can take seconds.
        // Judged on the last look: once the process is gone its pid may be a new process's, which
        // a second look would take for the killed one still holding its files.
        bool holds;
        while ((holds = HoldsFiles(pid)) && clock.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(10);
        Assert.False(holds, $"process {pid} still holds its files 30 s after SIGKILL");
    }

    static bool HoldsFiles(int pid)
    {
        try
        {
            return Directory.GetDirectories($"/proc/{pid}/task")
                .Any(task => { try { return Directory.EnumerateFileSystemEntries(Path.Combine(task, "fd")).Any(); } catch (Exception) { return false; } });
        }
        catch (Exception) { return false; } // gone
    }

    /// <summary>All of the above.</summary>
    public static void AssertLeftClean(int pid, bool segmentsOnly = false)
    {
        AssertNotTraced(pid);
        AssertCodeMatchesFiles(pid, segmentsOnly);
        AssertNoDebugRegisters(pid);
    }
}
