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

    [LibraryImport("libc", EntryPoint = "tgkill", SetLastError = true)]
    public static partial int TgKill(int tgid, int tid, int signal);

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Access(string path, int mode);

    public const int X_OK = 1;

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

    [LibraryImport("libc", EntryPoint = "vsnprintf")]
    private static unsafe partial int VsnPrintf(byte* buffer, nuint size, nint format, nint args);

    /// <summary>A C library's printf-style message (format and va_list, as libbpf's print
    /// callback gets them) as text. On x86-64 a va_list argument is a pointer, so it is passed on
    /// as is; elsewhere only the format's text is kept, its conversions dropped.</summary>
    public static unsafe string FormatVaList(nint format, nint args)
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return System.Text.RegularExpressions.Regex.Replace(Marshal.PtrToStringUTF8(format) ?? "", "'?%[-+ #0-9.]*[a-z]+'?", "…");
        var buffer = stackalloc byte[1024];
        int length = VsnPrintf(buffer, 1024, format, args);
        return length < 0 ? "" : Marshal.PtrToStringUTF8((nint)buffer, Math.Min(length, 1023));
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
