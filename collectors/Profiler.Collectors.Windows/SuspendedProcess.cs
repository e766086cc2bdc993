using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Profiler.Core;

namespace Profiler.Collectors.Windows;

/// <summary>
/// A command created with CREATE_SUSPENDED: its first thread has not run one instruction, so
/// heap tracing enabled for its pid now sees every allocation once it is resumed — without the
/// machine-wide image-name registry setting. stdin, stdout and stderr are inherited.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed class SuspendedProcess : IDisposable
{
    nint _process, _thread;
    bool _resumed;

    SuspendedProcess(Win32.ProcessInformation info)
    {
        _process = info.Process;
        _thread = info.Thread;
        Pid = info.ProcessId;
    }

    public int Pid { get; }

    public static unsafe SuspendedProcess Start(IReadOnlyList<string> command)
    {
        // CreateProcess may write into the command line, so it gets its own buffer.
        var commandLine = (WindowsCommandLine.Join(command) + "\0").ToCharArray();
        var startup = new Win32.StartupInfo { Size = sizeof(Win32.StartupInfo) };
        Win32.ProcessInformation info;
        fixed (char* line = commandLine)
        {
            if (!Win32.CreateProcess(null, line, 0, 0, inheritHandles: true,
                    Win32.CreateSuspended | Win32.CreateUnicodeEnvironment, 0, null, &startup, &info))
            {
                int error = Marshal.GetLastPInvokeError();
                throw error is Win32.ErrorFileNotFound or Win32.ErrorPathNotFound
                    ? new ProfilerException(Core.ExitCode.FileNotFound, $"{command[0]}: command not found")
                    : new ProfilerException(error == Win32.ErrorAccessDenied ? Core.ExitCode.PermissionDenied : Core.ExitCode.CollectorFailed,
                        $"cannot start {command[0]}: {new Win32Exception(error).Message}");
            }
        }
        return new SuspendedProcess(info);
    }

    public void Resume()
    {
        if (_resumed) return;
        if (Win32.ResumeThread(_thread) == uint.MaxValue)
            throw new ProfilerException(Core.ExitCode.CollectorFailed, $"cannot resume pid {Pid}: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        _resumed = true;
    }

    public bool HasExited => Win32.WaitForSingleObject(_process, 0) == Win32.WaitObject0;

    /// <summary>Waits up to <paramref name="timeout"/>; true when the process has exited.</summary>
    public bool WaitForExit(TimeSpan timeout) =>
        Win32.WaitForSingleObject(_process, timeout == Timeout.InfiniteTimeSpan ? Win32.Infinite : (uint)timeout.TotalMilliseconds) == Win32.WaitObject0;

    public int ExitCode => Win32.GetExitCodeProcess(_process, out uint code) ? unchecked((int)code) : -1;

    public void Terminate(uint exitCode) => Win32.TerminateProcess(_process, exitCode);

    public void Dispose()
    {
        if (_thread != 0) Win32.CloseHandle(_thread);
        if (_process != 0) Win32.CloseHandle(_process);
        _thread = _process = 0;
    }
}
