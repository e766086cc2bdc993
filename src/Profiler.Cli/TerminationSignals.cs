using System.Runtime.InteropServices;
using Profiler.Core.Files;

namespace Profiler.Cli;

/// <summary>
/// SIGINT, SIGTERM and SIGHUP, handled once for the whole process (System.CommandLine's own
/// handling is off: a second signal crashed it). By default a signal ends memprof as the system
/// would, after removing the temporary files of unfinished outputs. A command that stops cleanly
/// by itself (record) claims the signals instead: then every signal, the first or the fifth, only
/// asks it to stop, and it finishes its work (the recording, the Firefox profile).
/// </summary>
static class TerminationSignals
{
    static readonly Lock Gate = new();
    static PosixSignalRegistration[]? _registrations;
    static Action? _claimant;

    public static void Install()
    {
        lock (Gate)
        {
            _registrations ??= [
                PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
                PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal),
            ];
        }
    }

    /// <summary>Until disposed, signals call <paramref name="stop"/> (as often as they come) and end nothing.</summary>
    public static IDisposable Claim(Action stop)
    {
        Install();
        var previous = Interlocked.Exchange(ref _claimant, stop);
        return new Release(previous);
    }

    static void OnSignal(PosixSignalContext context)
    {
        if (Volatile.Read(ref _claimant) is { } stop)
        {
            context.Cancel = true;
            stop();
            return;
        }
        OutputFile.DeleteUnfinished();
    }

    sealed class Release(Action? previous) : IDisposable
    {
        int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) Volatile.Write(ref _claimant, previous);
        }
    }
}
