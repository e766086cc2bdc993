using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux.Procfs;

/// <summary>memprof's own scheduling priority while it attaches to and records a running process.
/// A target whose threads all run (16 allocating threads on 2 CPUs) gets CPU time per thread: at
/// the default nice memprof's reading thread gets a seventeenth of it, its ring buffer overflows
/// (events lost) and every step of the attach waits its turn, stopping the target's threads to
/// patch included (they stay stopped meanwhile). Measured on a loaded 2-vCPU VM, a 300 ms attach
/// by injection to such a server: 29–33 s wall for 0.7 s of CPU and 3,500–10,000 events lost at
/// nice 0; 3.3 s and none at nice −10.</summary>
public static partial class OwnPriority
{
    /// <summary>The nice value memprof's threads take (never a lower priority than they have).</summary>
    public const int RecorderNice = -10;

    const int PRIO_PROCESS = 0;

    [LibraryImport("libc", EntryPoint = "getpriority", SetLastError = true)]
    private static partial int GetPriority(int which, uint who);

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, uint who, int prio);

    /// <summary>Raises every thread of this process to <paramref name="nice"/> (Linux keeps a nice
    /// value per thread; a thread started later inherits its creator's) until disposed, which puts
    /// back what each thread had. Without CAP_SYS_NICE nothing changes.</summary>
    public static IDisposable Raise(int nice = RecorderNice)
    {
        var raised = new List<(uint Tid, int Was)>();
        foreach (var task in Threads())
        {
            Marshal.SetLastPInvokeError(0);
            int current = GetPriority(PRIO_PROCESS, task);
            if (current == -1 && Marshal.GetLastPInvokeError() != 0) continue; // the thread ended
            if (current <= nice) continue;
            if (SetPriority(PRIO_PROCESS, task, nice) == 0) raised.Add((task, current));
        }
        return new Lowering(raised, nice);
    }

    static IEnumerable<uint> Threads()
    {
        try { return [.. Directory.GetDirectories("/proc/self/task").Select(d => uint.TryParse(Path.GetFileName(d), out uint t) ? t : 0).Where(t => t > 0)]; }
        catch (IOException) { return []; }
    }

    sealed class Lowering(List<(uint Tid, int Was)> raised, int nice) : IDisposable
    {
        public void Dispose()
        {
            // Threads started meanwhile inherited the raised value: they are put back to the
            // value the process's threads had, where they ran at it.
            int? usual = raised.Count > 0 ? raised[0].Was : null;
            foreach (var (tid, was) in raised) SetPriority(PRIO_PROCESS, tid, was);
            raised.Clear();
            if (usual is null) return;
            foreach (var task in Threads())
            {
                Marshal.SetLastPInvokeError(0);
                if (GetPriority(PRIO_PROCESS, task) == nice && Marshal.GetLastPInvokeError() == 0)
                    SetPriority(PRIO_PROCESS, task, usual.Value);
            }
        }
    }
}
