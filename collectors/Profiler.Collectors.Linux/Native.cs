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
