using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>glibc's ptrace and waitpid. ptrace is variadic in C; its arguments are all integers
/// and pointers, which the x86-64 calling convention passes the same way either way.</summary>
static partial class PtraceNative
{
    public const long PTRACE_PEEKDATA = 2, PTRACE_PEEKUSER = 3, PTRACE_POKEDATA = 5, PTRACE_POKEUSER = 6,
        PTRACE_CONT = 7, PTRACE_GETREGS = 12, PTRACE_SETREGS = 13, PTRACE_DETACH = 17, PTRACE_SYSCALL = 24,
        PTRACE_GETREGSET = 0x4204, PTRACE_SETREGSET = 0x4205, PTRACE_GETSIGINFO = 0x4202,
        PTRACE_SEIZE = 0x4206, PTRACE_INTERRUPT = 0x4207, PTRACE_GETSIGMASK = 0x420a, PTRACE_SETSIGMASK = 0x420b;
    public const long PTRACE_O_TRACESYSGOOD = 1;
    public const int NT_PRFPREG = 2, NT_X86_XSTATE = 0x202;
    public const int WNOHANG = 1, __WALL = 0x40000000;
    /// <summary>offsetof(struct user, u_debugreg) on x86-64.</summary>
    public const long DebugRegisterOffset = 848;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec { public nint Base; public nuint Length; }

    [LibraryImport("libc", EntryPoint = "ptrace", SetLastError = true)]
    public static partial long Ptrace(long request, int pid, nint address, nint data);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, out int status, int options);
}
