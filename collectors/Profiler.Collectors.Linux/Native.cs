using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux;

static partial class Native
{
    [StructLayout(LayoutKind.Sequential)]
    struct RLimit { public ulong Cur, Max; }

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, ref RLimit limit);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errnum);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPath(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);

    /// <summary>The path with every symlink resolved (as /proc/PID/maps shows files), or the
    /// path itself when it cannot be resolved.</summary>
    public static string CanonicalPath(string path)
    {
        nint resolved = RealPath(path, 0);
        if (resolved == 0) return path;
        try { return Marshal.PtrToStringUTF8(resolved) ?? path; }
        finally { Free(resolved); }
    }

    public const int SIGCONT = 18, SIGSTOP = 19, SIGTERM = 15, SIGKILL = 9;

    /// <summary>Kernels ≥ 5.11 charge BPF memory to the cgroup, so failing here is not fatal.</summary>
    public static void RaiseMemlockLimit()
    {
        var unlimited = new RLimit { Cur = ulong.MaxValue, Max = ulong.MaxValue };
        SetRLimit(8 /* RLIMIT_MEMLOCK */, ref unlimited);
    }

    public static string ErrorText(int errno) => $"{Marshal.PtrToStringUTF8(StrError(errno))} (errno {errno})";

    public static string LastErrorText() => ErrorText(Marshal.GetLastPInvokeError());
}
