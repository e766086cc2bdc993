namespace Profiler.Collectors.Linux.Inject;

public enum PtraceStopKind
{
    /// <summary>The thread exited or was killed: it is no longer traced.</summary>
    Gone,
    /// <summary>A signal is about to be delivered to the thread (PTRACE_CONT's signal decides whether it is).</summary>
    Signal,
    /// <summary>PTRACE_INTERRUPT took effect.</summary>
    Interrupt,
    /// <summary>The process is stopped by job control (SIGSTOP, SIGTSTP, …).</summary>
    GroupStop,
    /// <summary>Entry to or exit from a system call (PTRACE_SYSCALL with PTRACE_O_TRACESYSGOOD).</summary>
    SystemCall,
}

/// <summary>A waitpid status of a thread traced with PTRACE_SEIZE and PTRACE_O_TRACESYSGOOD.</summary>
public readonly record struct PtraceStatus(PtraceStopKind Kind, int Signal)
{
    public const int SIGTRAP = 5;
    const int EventStop = 128;

    public static PtraceStatus Decode(int status)
    {
        int low = status & 0x7f;
        if (low == 0) return new(PtraceStopKind.Gone, 0);                          // exited
        if ((status & 0xff) != 0x7f) return new(PtraceStopKind.Gone, low);         // killed by a signal
        int signal = (status >> 8) & 0xff;
        int ev = (status >> 16) & 0xffff;
        if (signal == (SIGTRAP | 0x80)) return new(PtraceStopKind.SystemCall, 0);
        if (ev == EventStop)
            return signal == SIGTRAP ? new(PtraceStopKind.Interrupt, 0) : new(PtraceStopKind.GroupStop, signal);
        return new(PtraceStopKind.Signal, signal);
    }
}
