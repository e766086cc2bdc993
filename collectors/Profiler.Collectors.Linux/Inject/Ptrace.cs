using System.Diagnostics;
using System.Runtime.InteropServices;
using static Profiler.Collectors.Linux.Inject.PtraceNative;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>The kernel's ptrace (x86-64).</summary>
public sealed class Ptrace : IPtrace
{
    static int Errno(long result) => result == -1 ? Marshal.GetLastPInvokeError() : 0;

    public int Seize(int tid) => Errno(PtraceNative.Ptrace(PTRACE_SEIZE, tid, 0, (nint)PTRACE_O_TRACESYSGOOD));
    public int Interrupt(int tid) => Errno(PtraceNative.Ptrace(PTRACE_INTERRUPT, tid, 0, 0));
    public int Continue(int tid, int signal) => Errno(PtraceNative.Ptrace(PTRACE_CONT, tid, 0, signal));
    public int ContinueToSystemCall(int tid, int signal) => Errno(PtraceNative.Ptrace(PTRACE_SYSCALL, tid, 0, signal));
    public int Detach(int tid, int signal) => Errno(PtraceNative.Ptrace(PTRACE_DETACH, tid, 0, signal));

    public unsafe int GetRegisters(int tid, out PtraceRegisters registers)
    {
        PtraceRegisters r;
        int e = Errno(PtraceNative.Ptrace(PTRACE_GETREGS, tid, 0, (nint)(&r)));
        registers = r;
        return e;
    }

    public unsafe int SetRegisters(int tid, in PtraceRegisters registers)
    {
        PtraceRegisters r = registers;
        return Errno(PtraceNative.Ptrace(PTRACE_SETREGS, tid, 0, (nint)(&r)));
    }

    public unsafe int GetExtendedState(int tid, out byte[] state, out int kind)
    {
        var buffer = new byte[16384];
        foreach (int type in (int[])[NT_X86_XSTATE, NT_PRFPREG])
        {
            fixed (byte* p = buffer)
            {
                var iov = new IoVec { Base = (nint)p, Length = (nuint)buffer.Length };
                if (Errno(PtraceNative.Ptrace(PTRACE_GETREGSET, tid, type, (nint)(&iov))) is not 0) continue;
                state = buffer[..(int)iov.Length];
                kind = type;
                return 0;
            }
        }
        state = [];
        kind = 0;
        return Marshal.GetLastPInvokeError();
    }

    public unsafe int SetExtendedState(int tid, byte[] state, int kind)
    {
        fixed (byte* p = state)
        {
            var iov = new IoVec { Base = (nint)p, Length = (nuint)state.Length };
            return Errno(PtraceNative.Ptrace(PTRACE_SETREGSET, tid, kind, (nint)(&iov)));
        }
    }

    public int SetDebugRegister(int tid, int index, ulong value) =>
        Errno(PtraceNative.Ptrace(PTRACE_POKEUSER, tid, (nint)(DebugRegisterOffset + index * 8), (nint)value));

    public int GetDebugRegister(int tid, int index, out ulong value)
    {
        Marshal.SetLastSystemError(0);
        long word = PtraceNative.Ptrace(PTRACE_PEEKUSER, tid, (nint)(DebugRegisterOffset + index * 8), 0);
        value = (ulong)word;
        return word == -1 ? Marshal.GetLastPInvokeError() : 0;
    }

    public unsafe int GetSignalCode(int tid, out int code)
    {
        var info = stackalloc byte[128];
        int e = Errno(PtraceNative.Ptrace(PTRACE_GETSIGINFO, tid, 0, (nint)info));
        code = e == 0 ? *(int*)(info + 8) : 0;
        return e;
    }

    public unsafe int GetSignalMask(int tid, out ulong mask)
    {
        ulong m = 0;
        int e = Errno(PtraceNative.Ptrace(PTRACE_GETSIGMASK, tid, sizeof(ulong), (nint)(&m)));
        mask = m;
        return e;
    }

    public unsafe int SetSignalMask(int tid, ulong mask) =>
        Errno(PtraceNative.Ptrace(PTRACE_SETSIGMASK, tid, sizeof(ulong), (nint)(&mask)));

    public int ReadWord(int tid, ulong address, out ulong value)
    {
        // PEEKDATA returns the word itself: -1 is a valid word, so errno tells a failure apart.
        Marshal.SetLastSystemError(0);
        long word = PtraceNative.Ptrace(PTRACE_PEEKDATA, tid, (nint)address, 0);
        int errno = word == -1 ? Marshal.GetLastPInvokeError() : 0;
        value = (ulong)word;
        return errno;
    }

    public int WriteWord(int tid, ulong address, ulong value) =>
        Errno(PtraceNative.Ptrace(PTRACE_POKEDATA, tid, (nint)address, (nint)value));

    public PtraceStatus? Poll(int tid)
    {
        int r = WaitPid(tid, out int status, __WALL | WNOHANG);
        if (r == tid) return PtraceStatus.Decode(status);
        // ECHILD: the thread is no longer ours to wait for (it is gone).
        return r == -1 ? new PtraceStatus(PtraceStopKind.Gone, 0) : null;
    }

    public PtraceStatus? Wait(int tid, TimeSpan timeout)
    {
        // waitpid has no timeout: poll, spinning first (stops usually follow within microseconds),
        // then sleeping a millisecond at a time.
        var clock = Stopwatch.StartNew();
        for (int round = 0; ; round++)
        {
            if (Poll(tid) is { } status) return status;
            if (clock.Elapsed > timeout) return null;
            if (clock.Elapsed < TimeSpan.FromMilliseconds(200)) Thread.Yield();
            else Thread.Sleep(1);
        }
    }
}
