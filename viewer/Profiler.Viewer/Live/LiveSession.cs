using Profiler.Core.Model;
using Profiler.Viewer.ViewModels;

namespace Profiler.Viewer.Live;

/// <summary>
/// Live mode: re-reads the recording as the recorder appends to it (the writer flushes every
/// 500 ms and the reader stops cleanly at a cut tail), so the collector needs no hook. Each new
/// model is handed to <paramref name="publish"/>; while paused nothing is published.
/// </summary>
public sealed class LiveSession(string recordingPath, Func<string, ProfileModel> load, Task recording, CancellationTokenSource stop)
    : ILiveControl, IDisposable
{
    /// <summary>The shortest time between two reloads; a slow reload waits twice its own duration,
    /// so analysing never takes more than a third of the time.</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(300);

    readonly CancellationTokenSource _done = new();
    int _snapshots;
    volatile bool _paused;

    public LiveState State => new(!recording.IsCompleted, _paused);

    public void TogglePause() => _paused = !_paused;

    public void StopRecording() => stop.Cancel();

    /// <summary>Copies the recording as written so far; a reader takes the copy up to its last whole record.</summary>
    public string Snapshot()
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(recordingPath))!;
        string name = Path.GetFileNameWithoutExtension(recordingPath);
        string target;
        do target = Path.Combine(dir, $"{name}.snapshot-{++_snapshots}.memprof");
        while (File.Exists(target));
        File.Copy(recordingPath, target);
        return $"snapshot → {Path.GetFileName(target)}";
    }

    /// <summary>The first model: waits for the recorder to write the file's header.</summary>
    public ProfileModel LoadFirst(CancellationToken cancel)
    {
        while (true)
        {
            cancel.ThrowIfCancellationRequested();
            if (File.Exists(recordingPath) && new FileInfo(recordingPath).Length > 0)
            {
                try { return load(recordingPath); }
                catch (Exception) when (!recording.IsCompleted) { /* header not flushed yet */ }
            }
            if (recording.IsCompleted) recording.GetAwaiter().GetResult();
            Thread.Sleep(100);
        }
    }

    /// <summary>Reloads on a background thread until disposed; ends with a final reload after the recorder stops.</summary>
    public Task Start(Action<ProfileModel> publish) => Task.Run(() =>
    {
        long lastLength = -1;
        bool finalDone = false;
        while (!_done.IsCancellationRequested && !finalDone)
        {
            var started = DateTime.UtcNow;
            bool finished = recording.IsCompleted;
            long length = File.Exists(recordingPath) ? new FileInfo(recordingPath).Length : 0;
            if (!_paused && length != lastLength)
            {
                try
                {
                    publish(load(recordingPath));
                    lastLength = length;
                }
                catch (Exception) { /* a torn read mid-write: the next round reads it whole */ }
            }
            finalDone = finished && !_paused && length == lastLength;
            var wait = TimeSpan.FromTicks(Math.Max(MinInterval.Ticks, 2 * (DateTime.UtcNow - started).Ticks));
            _done.Token.WaitHandle.WaitOne(wait);
        }
    });

    /// <summary>Stops the reloads; safe to call more than once.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _done.Cancel();
    }

    int _disposed;
}
