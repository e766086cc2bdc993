using System.CommandLine;
using Profiler.Viewer.Live;
using Profiler.Viewer.Ui;
using Profiler.Viewer.ViewModels;

namespace Profiler.Cli.Commands;

/// <summary>`memprof record --tui`: the recorder runs on a background thread while the terminal UI
/// shows the recording as it grows. Quitting the UI stops the recording; the recorder's messages
/// are held back and printed once the terminal is restored.</summary>
public static class LiveView
{
    public static Option<bool> TuiOption() => new("--tui")
    {
        Description = "Show the terminal UI while recording, updated a few times a second (P pause, S snapshot, X stop, q quit).",
    };

    /// <param name="record">The recording itself, given the writer for its messages; it must stop when
    /// <paramref name="stop"/> is cancelled.</param>
    public static T Run<T>(string recordingPath, CancellationTokenSource stop, TextWriter stderr, Func<TextWriter, T> record)
    {
        ViewCommand.RequireTerminal();
        var held = new StringWriter();
        var messages = TextWriter.Synchronized(held);
        var recording = Task.Factory.StartNew(() => record(messages), TaskCreationOptions.LongRunning);
        try
        {
            // Streamed as `view` reads it: memory stays bounded by stacks and live blocks as the recording grows.
            using var live = new LiveSession(recordingPath, path => RecordingInput.Load(path, TextWriter.Null, symbolPath: null, streamEvents: true),
                recording, stop);
            var state = new ViewerState(live.LoadFirst(stop.Token), live: live);
            using var app = Terminal.Gui.App.Application.Create();
            app.Init();
            using var viewer = new ViewerApp(app, state);
            var reloads = live.Start(model => app.Invoke(() => state.Update(model)));
            viewer.Run();
            live.Dispose();
            reloads.Wait();
        }
        catch (OperationCanceledException) when (recording.IsCompleted) { /* stopped before the first screen */ }
        finally
        {
            stop.Cancel();
            try { recording.Wait(); } catch (AggregateException) { /* rethrown below */ }
            stderr.Write(held.ToString());
        }
        return recording.GetAwaiter().GetResult();
    }
}
