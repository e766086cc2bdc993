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
    static readonly TimeSpan IpcTimeout = TimeSpan.FromSeconds(3);

    public string? Enable(int pid)
    {
        // Bounded: a process that cannot answer (stopped) must not hold the recording up.
        var enable = Task.Run(() => new DiagnosticsClient(pid).EnablePerfMap(PerfMapType.PerfMap));
        try
        {
            return enable.Wait(IpcTimeout) ? null : "its diagnostics IPC did not answer in time";
        }
        catch (AggregateException wrapped) when (wrapped.InnerException is ServerNotAvailableException)
        {
            return $"it has no diagnostics IPC socket (/tmp/dotnet-diagnostic-{pid}-*-socket; DOTNET_EnableDiagnostics=0 turns it off), " +
                   "so it cannot be asked for its perf map";
        }
        catch (AggregateException wrapped) when (wrapped.InnerException is { } e && IsIpcFailure(e))
        {
            return $"its diagnostics IPC refused the perf map ({e.Message.TrimEnd('.')})";
        }
    }

    public void Disable(int pid)
    {
        var disable = Task.Run(() => new DiagnosticsClient(pid).DisablePerfMap());
        try { disable.Wait(IpcTimeout); }
        catch (AggregateException wrapped) when (wrapped.InnerException is { } e && IsIpcFailure(e)) { /* gone, or it stopped listening */ }
    }

    static bool IsIpcFailure(Exception e) =>
        e is ServerNotAvailableException or UnsupportedCommandException or ServerErrorException
            or TimeoutException or IOException or UnauthorizedAccessException or InvalidOperationException;
}
