namespace Profiler.Collectors.Linux.Inject;

/// <summary>ptrace as the remote loader uses it, one thread at a time. Every call must come from
/// the same OS thread (the kernel ties a tracee to the thread that seized it). Methods return
/// 0 or an errno.</summary>
public interface IPtrace
{
    /// <summary>Traces the thread without stopping it (PTRACE_SEIZE, with system-call stops told apart).</summary>
    int Seize(int tid);
    int Interrupt(int tid);
    /// <summary>Resumes the thread, delivering <paramref name="signal"/> (0: none).</summary>
    int Continue(int tid, int signal);
    /// <summary>Resumes the thread until its next system-call entry or exit.</summary>
    int ContinueToSystemCall(int tid, int signal);
    int Detach(int tid, int signal);
    int GetRegisters(int tid, out PtraceRegisters registers);
    int SetRegisters(int tid, in PtraceRegisters registers);
    /// <summary>The vector and floating-point state (XSAVE layout, or FXSAVE's when XSAVE is not offered).</summary>
    int GetExtendedState(int tid, out byte[] state, out int kind);
    int SetExtendedState(int tid, byte[] state, int kind);
    /// <summary>Sets debug register <paramref name="index"/> (0–3 addresses, 7 control).</summary>
    int SetDebugRegister(int tid, int index, ulong value);
    int GetDebugRegister(int tid, int index, out ulong value);
    /// <summary>si_code of the signal the thread is stopped for.</summary>
    int GetSignalCode(int tid, out int code);
    /// <summary>The signals the thread blocks (bit n−1 is signal n): its own mask, also while a
    /// call such as ppoll or epoll_pwait runs with a mask set only for the wait.</summary>
    int GetSignalMask(int tid, out ulong mask);
    /// <summary>Sets the signals the thread blocks (SIGKILL and SIGSTOP never are); a mask a
    /// waiting call had set for itself is dropped.</summary>
    int SetSignalMask(int tid, ulong mask);
    int ReadWord(int tid, ulong address, out ulong value);
    int WriteWord(int tid, ulong address, ulong value);
    /// <summary>The thread's next stop or its end, or null when neither comes before the deadline.</summary>
    PtraceStatus? Wait(int tid, TimeSpan timeout);
    /// <summary>A stop or end already reported, without waiting.</summary>
    PtraceStatus? Poll(int tid);
}
