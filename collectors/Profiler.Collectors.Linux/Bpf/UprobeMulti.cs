using System.Runtime.InteropServices;
using Profiler.Core;

namespace Profiler.Collectors.Linux.Bpf;

/// <summary>One uprobe_multi link (kernel ≥ 6.6) puts a program on many offsets of one file for
/// one process. libbpf 1.1 predates it, so the link is made with the raw bpf() syscall. Releasing
/// a link costs one RCU grace period (~130 ms here) for all its offsets, where classic per-offset
/// links cost one each.</summary>
static unsafe partial class UprobeMulti
{
    public const int AttachType = 48;          // BPF_TRACE_UPROBE_MULTI
    public const int SessionAttachType = 57;   // BPF_TRACE_UPROBE_SESSION
    const int BpfLinkCreate = 28;              // BPF_LINK_CREATE
    const uint ReturnFlag = 1;                 // BPF_F_UPROBE_MULTI_RETURN
    const long SysBpf = 321;                   // x86-64

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long command, void* attr, long size);

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);

    public static bool Supported => Environment.OSVersion.Version >= new Version(6, 6);

    /// <summary>Uprobe sessions: one program runs at entry and, only when it returns 0, at return.</summary>
    public static bool SessionsSupported => Environment.OSVersion.Version >= new Version(6, 13);

    /// <returns>The link's file descriptor.</returns>
    public static int Create(int progFd, int pid, string path, ReadOnlySpan<ulong> offsets, ReadOnlySpan<ulong> cookies, bool isReturn,
        int attachType = AttachType)
    {
        var pathBytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        var attr = stackalloc byte[64];
        new Span<byte>(attr, 64).Clear();
        fixed (byte* pathPtr = pathBytes)
        fixed (ulong* offsetsPtr = offsets)
        fixed (ulong* cookiesPtr = cookies)
        {
            *(uint*)(attr + 0) = (uint)progFd;
            *(uint*)(attr + 8) = (uint)attachType;
            *(ulong*)(attr + 16) = (ulong)pathPtr;
            *(ulong*)(attr + 24) = (ulong)offsetsPtr;
            *(ulong*)(attr + 40) = (ulong)cookiesPtr;
            *(uint*)(attr + 48) = (uint)offsets.Length;
            *(uint*)(attr + 52) = isReturn ? ReturnFlag : 0;
            *(uint*)(attr + 56) = (uint)pid;
            long fd = Syscall(SysBpf, BpfLinkCreate, attr, 64);
            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new ProfilerException(errno == 3 ? ExitCode.TargetNotFound : ExitCode.CollectorFailed,
                    $"cannot attach {(isReturn ? "return " : "")}uprobes to {path} in pid {pid}: {Native.ErrorText(errno)}");
            }
            return (int)fd;
        }
    }
}
