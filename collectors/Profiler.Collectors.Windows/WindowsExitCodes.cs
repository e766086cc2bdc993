using Profiler.Core;

namespace Profiler.Collectors.Windows;

/// <summary>Exit codes the Windows collector adds to <see cref="ExitCode"/>.</summary>
public static class WindowsExitCodes
{
    /// <summary>An ETW session of the same name is running already (sysexits' EX_TEMPFAIL: try
    /// again once it is stopped).</summary>
    public const ExitCode SessionInUse = ExitCode.SessionInUse;
}
