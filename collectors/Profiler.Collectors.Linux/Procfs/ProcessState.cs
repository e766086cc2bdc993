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
