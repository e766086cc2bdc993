namespace Profiler.Collectors.Linux.Inject;

/// <summary>A thread's signal state as /proc/PID/task/TID/status shows it (bit n−1 is signal n).</summary>
/// <param name="Pending">Signals sent to the thread and not yet delivered (SigPnd).</param>
public readonly record struct RemoteLoaderSignalState(ulong Blocked, ulong Ignored, ulong Caught, ulong Pending = 0)
{
    public bool IsPending(int signal) => (Pending & (1UL << (signal - 1))) != 0;
}

/// <summary>How the stub tells memprof that dlopen returned: it sends its own thread a signal
/// that memprof, tracing the thread, sees as a stop, and that the kernel discards when nobody
/// traces it any more (its action is to be ignored, by default or by the program's choice, and
/// the thread does not block it). One stop, where watching every system call of dlopen for the
/// stub's marker costs dozens.</summary>
public static class RemoteLoaderSignals
{
    public const int SIGCHLD = 17, SIGURG = 23, SIGWINCH = 28;

    /// <summary>The signal to send, or 0 when none is harmless: the stub then makes a system call
    /// that sends nothing, and memprof watches system calls to see it.</summary>
    public static int Marker(RemoteLoaderSignalState state)
    {
        bool Free(int signal) => (Bit(signal) & (state.Blocked | state.Caught)) == 0;
        foreach (int signal in (int[])[SIGURG, SIGWINCH, SIGCHLD])
            if (Free(signal)) return signal;
        for (int signal = 1; signal <= 31; signal++)
            if ((Bit(signal) & state.Ignored) != 0 && Free(signal)) return signal;
        return 0;
    }

    public const int SIGILL = 4, SIGTRAP = 5, SIGBUS = 7, SIGFPE = 8, SIGSEGV = 11, SIGSYS = 31;

    /// <summary>Signals the thread's own faults raise. Blocked, the kernel would not hold them
    /// pending: it resets their action to the default and kills the process; unblocked, a handler
    /// the program has for them (a runtime's for its null checks) runs as it would without memprof.</summary>
    static readonly int[] Synchronous = [SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV, SIGSYS];

    /// <summary>The mask the thread runs the load with: every signal blocked but the marker and
    /// the synchronous ones (and what it blocked already stays blocked). A handler of the
    /// program's that ran in the middle of the load would interrupt dlopen anywhere, its
    /// allocator's locks held (a handler that allocates then deadlocks the thread); blocked, the
    /// signals stay pending and are delivered once the thread is back in its own code, its
    /// own mask restored.</summary>
    public static ulong LoadMask(ulong usual, int marker)
    {
        ulong open = Synchronous.Aggregate(0UL, (bits, signal) => bits | Bit(signal));
        if (marker != 0) open |= Bit(marker);
        return (usual & open & ~(marker != 0 ? Bit(marker) : 0)) | ~open;
    }

    static ulong Bit(int signal) => 1UL << (signal - 1);
}
