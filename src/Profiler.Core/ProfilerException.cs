namespace Profiler.Core;

/// <summary>An expected failure: printed as one line, the process exits with <see cref="ExitCode"/>.</summary>
public sealed class ProfilerException(ExitCode exitCode, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public ExitCode ExitCode { get; } = exitCode;

    /// <summary>The exit code of the command `memprof record` launched, when it ran to its end
    /// before this failure was reported: a failing command's code is passed through instead of
    /// memprof's own (as with a broken budget), so CI sees the command's real failure first.</summary>
    public int? CommandExitCode { get; init; }

    /// <summary>What memprof exits with: the launched command's failure, else its own code.</summary>
    public int ProcessExitCode => CommandExitCode is { } code and not 0 ? code : (int)ExitCode;
}

/// <summary>memprof's own exit codes. A launched command's exit code is passed through as is.</summary>
public enum ExitCode
{
    Success = 0,
    UsageError = 64,
    FileNotFound = 66,
    WrongFileType = 65,
    CorruptRecording = 67,
    TargetNotFound = 68,
    PermissionDenied = 77,
    KernelUnsupported = 69,
    CollectorFailed = 70,
    /// <summary>`memprof record --pid --mode inject` could not put the sampler into the process
    /// (static binary, ptrace refused, no safe point, …); nothing was left in it.</summary>
    InjectionFailed = 71,
    /// <summary>An output could not be written (disk full, read-only filesystem, I/O error); nothing
    /// half-written is left under the output's name.</summary>
    OutputFailed = 74,
    /// <summary>Windows: an ETW session of that name is already running.</summary>
    SessionInUse = 75,
    Cancelled = 130,
    /// <summary>A memory budget (--max-peak, --max-leaked, --max-allocated, --max-allocs,
    /// --fail-on-leak) was broken. When `memprof record` launched a command that itself failed,
    /// the command's exit code wins (the budgets are still checked and reported): a failing
    /// command's recording is incomplete, and CI must see the real failure first.</summary>
    BudgetExceeded = 90,
    /// <summary>`memprof diff --fail-on-regression` found a change beyond the threshold and the noise allowance.</summary>
    RegressionFound = 91,
    /// <summary>`memprof check` or `memprof diff` was given a recording that is cut short (no end
    /// marker: the recorder was killed or its disk filled) or has damaged records: a pass could be
    /// false, so none is given unless --allow-incomplete says to judge what is there.</summary>
    IncompleteRecording = 92,
}
