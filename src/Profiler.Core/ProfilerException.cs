namespace Profiler.Core;

/// <summary>An expected failure: printed as one line, the process exits with <see cref="ExitCode"/>.</summary>
public sealed class ProfilerException(ExitCode exitCode, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public ExitCode ExitCode { get; } = exitCode;
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
    /// <summary>Windows: an ETW session of that name is already running.</summary>
    SessionInUse = 75,
    Cancelled = 130,
}
