using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Inject;
using Profiler.Symbols.Elf;
using Xunit.Abstractions;

namespace Profiler.Integration.Tests.Inject;

/// <summary>A process SIGKILLed while one of its threads registers or releases a uprobe makes the
/// kernel keep the uprobe, consumer-less, with its breakpoints in the target ("failed to
/// unregister, leaking uprobe"): each later call of a probed function traps for nothing, for the
/// target's whole life. What memprof does about it: after a killed loader, memprof registers the
/// loader's announced probe again and releases it; after a killed memprof, its probe guard does.</summary>
public sealed class LeakedProbeTests(InjectPrograms programs, ITestOutputHelper output) : IClassFixture<InjectPrograms>
{
    [Fact]
    public void Breakpoints_a_killed_process_left_behind_are_taken_out_by_registering_and_releasing_the_announced_probe()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "4", DetachedTarget.Stop, "late");
        target.WaitReady();
        var notice = LeakInto(target.Pid);

        Assert.Null(notice.TakeOut(SafePointProbe.Create));

        Assert.Null(TargetChecks.Breakpoint(target.Pid));
        AssertRunsOnClean(target);
    }

    /// <summary>The guard started as memprof starts it, told the probe as memprof tells it; then its
    /// input ends without "done", as when memprof is killed.</summary>
    [Fact]
    public void The_probe_guard_takes_out_the_announced_probes_when_its_input_ends_without_done()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "4", DetachedTarget.Stop, "late");
        target.WaitReady();
        var notice = LeakInto(target.Pid);
        using var guard = StartGuard();
        guard.Send(notice.Encode());

        guard.CloseInput();
        var ended = guard.WaitForExit(TimeSpan.FromSeconds(60));

        Assert.Equal(0, ended.ExitCode);
        Assert.Null(TargetChecks.Breakpoint(target.Pid));
        AssertRunsOnClean(target);
    }

    [Fact]
    public void The_probe_guard_told_done_leaves_the_probes_alone()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "4", DetachedTarget.Stop, "late");
        target.WaitReady();
        var notice = LeakInto(target.Pid);
        string? before = TargetChecks.Breakpoint(target.Pid);
        using var guard = StartGuard();
        guard.Send(notice.Encode());

        guard.Send(ProbeGuard.Done);
        var ended = guard.WaitForExit(TimeSpan.FromSeconds(60));

        Assert.Equal(0, ended.ExitCode);
        // A kernel that leaked nothing leaves nothing to leave alone.
        Assert.Equal(before, TargetChecks.Breakpoint(target.Pid));
        Assert.Null(notice.TakeOut(SafePointProbe.Create));
        AssertRunsOnClean(target);
    }

    /// <summary>The guard, started as memprof starts it.</summary>
    static RunningProcess StartGuard()
    {
        var command = Collectors.Linux.MemprofProcess.Command();
        return RunningProcess.Start(command[0], [.. command.Skip(1), ProbeGuard.Verb], new ProcessOptions { Interactive = true });
    }

    static void AssertRunsOnClean(DetachedTarget target)
    {
        TargetChecks.AssertLeftClean(target.Pid);
        File.WriteAllText(target.StopFile + ".go", "");
        Assert.Equal((0, "ready\nok threads=4\n"), target.Finish());
    }

    /// <summary>Kills a process that registers and releases a probe on libc's functions in the
    /// target, over and over, until a kill leaves breakpoints behind (most do not) or enough
    /// kills that a kernel which cleans up after a killed process is plainly one. Returns the
    /// probe's notice, as the churning process announced it.</summary>
    SafePointProbeNotice LeakInto(int pid)
    {
        // Many entries make each registration and release long enough for a kill to land inside.
        string libc = Collectors.Linux.Procfs.ProcMaps.Read(pid).First(m => m.IsFile && Path.GetFileName(m.Path).StartsWith("libc.so", StringComparison.Ordinal)).Path;
        var offsetsFile = Path.Combine(Path.GetTempPath(), $"memprof-churn-{Environment.ProcessId}-{pid}.txt");
        File.WriteAllLines(offsetsFile, FunctionEntries(libc).Select(o => o.ToString("x")));
        try
        {
            SafePointProbeNotice? notice = null;
            int kills = 0, leaks = 0;
            var random = new Random(pid);
            while (leaks == 0 && kills < 40)
            {
                using var churn = ProbeChurn.Start(pid, libc, offsetsFile);
                notice = SafePointProbeNotice.Decode(churn.ReadLine(TimeSpan.FromSeconds(60)) ?? "");
                Assert.NotNull(notice);
                Assert.Equal("attached", churn.ReadLine(TimeSpan.FromSeconds(60)));
                Thread.Sleep(random.Next(0, 40));
                Assert.Equal(0, TargetChecks.Kill(churn.Id, 9));
                TargetChecks.WaitUntilFilesClosed(churn.Id);
                churn.WaitForExit(TimeSpan.FromSeconds(30));
                kills++;
                if (TargetChecks.Breakpoint(pid) is { } left)
                {
                    leaks++;
                    output.WriteLine($"kill {kills} left a breakpoint: {left}");
                }
            }
            output.WriteLine($"{leaks} of {kills} kills left breakpoints in the target");
            return notice!;
        }
        finally { File.Delete(offsetsFile); }
    }

    /// <summary>The file offsets of the library's exported functions that begin with a push (the
    /// kernel refuses a uprobe on a few other first instructions, and one refusal fails the link).</summary>
    static IReadOnlyList<ulong> FunctionEntries(string path)
    {
        var bytes = File.ReadAllBytes(path);
        using var elf = ElfFile.Open(path);
        var entries = elf.ReadDynamicSymbols()
            .Where(s => s.IsDefined && s.Type == ElfSymbolType.Func && s.Size >= 2)
            .Select(s => elf.VirtualAddressToFileOffset(s.Value))
            .OfType<ulong>()
            .Where(o => o + 2 <= (ulong)bytes.Length && BeginsWithPush(bytes[(int)o], bytes[(int)o + 1]))
            .Distinct().Order().ToList();
        Assert.True(entries.Count >= 100, $"{path} has only {entries.Count} exported functions beginning with a push");
        return entries;
    }

    static bool BeginsWithPush(byte first, byte second) => first is 0x53 or 0x55 || (first == 0x41 && second is >= 0x54 and <= 0x57);
}
