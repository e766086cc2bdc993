using System.Runtime.InteropServices;

namespace Profiler.Collectors.Linux;

/// <summary>memprof started again, for the helpers that must outlive it (the remote loader, the probe guard).</summary>
public static partial class MemprofProcess
{
    /// <summary>The native executable this process runs (memprof compiled ahead of time), else
    /// memprof.dll beside this assembly, run by the host that runs this process.</summary>
    public static IReadOnlyList<string> Command()
    {
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported && Environment.ProcessPath is { } native)
            return [native];
        string dll = Path.Combine(AppContext.BaseDirectory, "memprof.dll");
        string host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        return [host, dll];
    }

    /// <summary>For a helper's main: Ctrl-C, a hang-up or a terminate meant for memprof must not stop
    /// the helper half-way. Out of memprof's session and process group, kills aimed at those miss
    /// it, and the signals aimed at it alone are ignored while the result is held.</summary>
    public static IDisposable OutOfReach()
    {
        SetSid(); // not a group leader (memprof started it), so setsid cannot fail
        var ignored = new[] { PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }
            .Select(s => PosixSignalRegistration.Create(s, context => context.Cancel = true)).ToList();
        return new Registrations(ignored);
    }

    sealed class Registrations(List<PosixSignalRegistration> held) : IDisposable
    {
        public void Dispose() => held.ForEach(r => r.Dispose());
    }

    [LibraryImport("libc", EntryPoint = "setsid")]
    private static partial int SetSid();
}
