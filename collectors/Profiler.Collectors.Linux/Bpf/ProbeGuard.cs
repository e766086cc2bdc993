using System.Diagnostics;
using Profiler.Collectors.Linux.Inject;

namespace Profiler.Collectors.Linux.Bpf;

/// <summary>Told of each probe before it is attached to a process memprof did not start.</summary>
public interface IProbeGuard : IDisposable
{
    void Announce(int pid, string path, IReadOnlyList<ulong> offsets);
}

/// <summary>A small process of its own (memprof again, with a hidden verb) that cleans up after a
/// memprof killed while attached. A process SIGKILLed while one of its threads registers or
/// releases a uprobe leaves the uprobe's breakpoints in the target, consumer-less: each later call
/// of the probed allocator function traps for nothing, for the rest of the target's life (see
/// <see cref="SafePointProbeNotice"/>). memprof tells the guard each probe before attaching it;
/// if memprof's end of the pipe closes without "done", memprof died, and the guard registers the
/// same probes and releases them from a process nobody is killing, which takes the breakpoints out.
/// A memprof that ends normally says "done", and the guard just exits.</summary>
public sealed class ProbeGuard : IProbeGuard
{
    /// <summary>The hidden verb: `memprof __guard-probes`, notices on its standard input.</summary>
    public const string Verb = "__guard-probes";
    public const string Done = "done";

    readonly Process _process;

    ProbeGuard(Process process) => _process = process;

    /// <summary>The guard, or null when it cannot be started (memprof then records unguarded).</summary>
    public static IProbeGuard? Start() => Start(MemprofProcess.Command());

    public static IProbeGuard? Start(IReadOnlyList<string> command)
    {
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardInput = true,
            // Read by nobody: the guard writes nothing, and memprof's terminal is not its to write to.
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var word in command.Skip(1).Append(Verb)) start.ArgumentList.Add(word);
        try { return new ProbeGuard(Process.Start(start)!); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { return null; }
    }

    public int Pid => _process.Id;

    public void Announce(int pid, string path, IReadOnlyList<ulong> offsets) =>
        Send(new SafePointProbeNotice(pid, path, [.. offsets]).Encode());

    public void Dispose()
    {
        Send(Done);
        try { _process.StandardInput.Close(); } catch (IOException) { }
        _process.Dispose();
    }

    void Send(string line)
    {
        try
        {
            _process.StandardInput.WriteLine(line);
            _process.StandardInput.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { /* the guard died: nothing to tell */ }
    }

    /// <summary>The guard's main.</summary>
    public static int Main()
    {
        using var outOfReach = MemprofProcess.OutOfReach();
        Run(Console.In, Procfs.ProcessState.IsAlive, SafePointProbe.Create);
        return 0;
    }

    /// <summary>Reads notices until "done" (nothing to do) or the end of the input (memprof died):
    /// then takes out every announced probe of a process still alive, each file's offsets at once.
    /// Returns how many probes it took out.</summary>
    public static int Run(TextReader input, Func<int, bool> alive, SafePointProbeFactory probes)
    {
        var notices = new List<SafePointProbeNotice>();
        while (input.ReadLine() is { } line)
        {
            if (line == Done) return 0;
            if (SafePointProbeNotice.Decode(line) is { } notice) notices.Add(notice);
        }
        int takenOut = 0;
        foreach (var probe in notices.GroupBy(n => (n.Pid, n.Path)))
        {
            if (!alive(probe.Key.Pid)) continue;
            var merged = new SafePointProbeNotice(probe.Key.Pid, probe.Key.Path, [.. probe.SelectMany(n => n.Offsets).Distinct().Order()]);
            if (merged.TakeOut(probes) is null) takenOut++;
        }
        return takenOut;
    }
}
