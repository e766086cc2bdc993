namespace Profiler.Collectors.Linux.Procfs;

public static class ProcessState
{
    /// <summary>The state letter from /proc/PID/stat (R, S, T, Z, …), or null when the process is gone.</summary>
    public static char? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close >= 0 && close + 2 < stat.Length ? stat[close + 2] : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    public static bool IsAlive(int pid) => Read(pid) is { } s && s != 'Z' && s != 'X';

    /// <summary>Why pid cannot be attached to (null: it can): gone, exited but not yet reaped (a
    /// zombie), exiting, or a kernel thread (no user-space memory, so no heap). Each is "no such
    /// process to record" to the user, exit 68, rather than a collector failure.</summary>
    public static string? WhyNotAttachable(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"no process with pid {pid}"; }
        int close = stat.LastIndexOf(')');
        var fields = close >= 0 ? stat[(close + 2)..].Split(' ') : [];
        if (fields.Length < 7) return $"no process with pid {pid}";
        char state = fields[0][0];
        if (state is 'Z' or 'X') return $"pid {pid} has exited (it is a zombie, waiting for its parent to reap it)";
        // flags is the ninth field of stat, the seventh after the state.
        const ulong KernelThread = 0x00200000, Exiting = 0x00000004;
        ulong flags = ulong.TryParse(fields[6], out var f) ? f : 0;
        if ((flags & KernelThread) != 0) return $"pid {pid} is a kernel thread: it has no user-space heap to record";
        if ((flags & Exiting) != 0) return $"pid {pid} is exiting";
        return null;
    }

    public static string? Command(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The process's executable as its maps name it (/proc/PID/exe's target).</summary>
    public static string ExecutablePath(int pid)
    {
        try { return new FileInfo($"/proc/{pid}/exe").LinkTarget ?? $"/proc/{pid}/exe"; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"/proc/{pid}/exe"; }
    }
}
