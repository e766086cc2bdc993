using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>
/// `memprof record --rate 1` for tests that judge exact figures. Every call is then an event
/// carrying a stack copy, and a reader that falls behind for a moment (a loaded machine, the first
/// seconds of a .NET process) loses events — which the recording counts and the report states,
/// never silently. Exactness can only be judged on a recording that lost nothing, so a recording
/// that lost events is made again, at most twice; a third loss fails the test.
/// </summary>
static class ExactRecording
{
    const int Attempts = 3;

    /// <param name="recording">The recording <paramref name="args"/> write (their -o).</param>
    public static CliResult Run(string recording, params string[] args)
    {
        for (int attempt = 1; ; attempt++)
        {
            var result = CliRunner.Run(args);
            if (result.ExitCode != 0) return result;
            ulong lost = RecordingLoader.Load(recording, TextWriter.Null).Info.LostEvents;
            if (lost == 0) return result;
            Assert.True(attempt < Attempts, $"{lost:N0} events lost in each of {Attempts} recordings: {string.Join(' ', args)}");
            Console.Error.WriteLine($"memprof test: {lost:N0} events lost at --rate 1; recording again ({string.Join(' ', args)})");
        }
    }
}
