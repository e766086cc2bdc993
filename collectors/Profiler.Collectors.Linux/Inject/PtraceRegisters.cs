using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>x86-64's struct user_regs_struct, as PTRACE_GETREGS and PTRACE_SETREGS exchange it.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PtraceRegisters
{
    public ulong R15, R14, R13, R12, Rbp, Rbx, R11, R10, R9, R8, Rax, Rcx, Rdx, Rsi, Rdi;
    /// <summary>The system call the thread is in (the kernel restarts it on resume), or -1 (all ones) when none.</summary>
    public ulong OrigRax;
    public ulong Rip, Cs, Eflags, Rsp, Ss, FsBase, GsBase, Ds, Es, Fs, Gs;

    public const ulong NoSystemCall = ulong.MaxValue;

    public readonly bool InSystemCall => OrigRax != NoSystemCall;
}
