using Microsoft.Diagnostics.NETCore.Client;

namespace Profiler.Collectors.Linux.DotNet;

/// <summary>Turns a running .NET runtime's perf map on and off (the diagnostics IPC).</summary>
public interface IPerfMapControl
{
    /// <returns>Null when it is on, else why not.</returns>
    string? Enable(int pid);
    void Disable(int pid);
}

/// <summary>Through <see cref="DiagnosticsClient"/>: the runtime's diagnostics socket in /tmp.</summary>
public sealed class DiagnosticsPerfMapControl : IPerfMapControl
{
    public string? Enable(int pid)
    {
        try
        {
            new DiagnosticsClient(pid).EnablePerfMap(PerfMapType.PerfMap);
            return null;
        }
        catch (Exception e) when (e is ServerNotAvailableException or UnsupportedCommandException or ServerErrorException
                                      or TimeoutException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return $"its diagnostics IPC did not answer ({e.Message.TrimEnd('.')}; DOTNET_EnableDiagnostics=0 turns it off)";
        }
    }

    public void Disable(int pid)
    {
        try { new DiagnosticsClient(pid).DisablePerfMap(); }
        catch (Exception e) when (e is ServerNotAvailableException or UnsupportedCommandException or ServerErrorException
                                      or TimeoutException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // Gone, or it stopped listening: nothing left to turn off.
        }
    }
}
