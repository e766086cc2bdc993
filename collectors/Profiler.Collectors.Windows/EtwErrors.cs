using Profiler.Core;

namespace Profiler.Collectors.Windows;

/// <summary>Turns what starting an ETW session throws into one line with its own exit code.</summary>
public static class EtwErrors
{
    const int AccessDenied = unchecked((int)0x80070005);     // ERROR_ACCESS_DENIED as an HRESULT
    const int AlreadyExists = unchecked((int)0x800700B7);    // ERROR_ALREADY_EXISTS

    public const string NotElevated = "recording with ETW needs administrator rights: run memprof from an elevated prompt";

    /// <param name="pidAlive">Whether the target still runs: enabling heap tracing for a process
    /// that just exited fails with an error that does not say so.</param>
    public static ProfilerException Translate(Exception error, string sessionName, int pid, bool pidAlive)
    {
        if (error is ProfilerException known) return known;
        if (error is UnauthorizedAccessException || error.HResult == AccessDenied)
            return new ProfilerException(ExitCode.PermissionDenied, NotElevated, error);
        if (!pidAlive)
            return new ProfilerException(ExitCode.TargetNotFound, $"no process with pid {pid} (it exited)", error);
        if (error.HResult == AlreadyExists)
            return SessionInUse(sessionName, error);
        return new ProfilerException(ExitCode.CollectorFailed, $"starting the ETW session {sessionName} failed: {error.Message}", error);
    }

    public static ProfilerException SessionInUse(string sessionName, Exception? inner = null) =>
        new(WindowsExitCodes.SessionInUse,
            $"the ETW session {sessionName} is already running (another memprof recording the same process, or one " +
            $"left behind by a killed memprof); stop it with: logman stop {sessionName} -ets", inner);
}
