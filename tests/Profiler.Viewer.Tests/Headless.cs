using Profiler.Core.Model;
using Profiler.Viewer.Ui;
using Profiler.Viewer.ViewModels;
using Terminal.Gui.App;
using Terminal.Gui.Input;
using Terminal.Gui.Testing;
using Terminal.Gui.Time;

namespace Profiler.Viewer.Tests;

/// <summary>The viewer on Terminal.Gui's ANSI driver with virtual time: keys are injected through
/// the driver's input path and the screen is read back from the driver's contents.</summary>
public sealed class Headless : IDisposable
{
    readonly IApplication _app;
    readonly ViewerApp _viewer;
    readonly SessionToken? _session;

    public Headless(ProfileModel model, int width = 80, int height = 24, ILiveControl? live = null)
    {
        Time = new VirtualTimeProvider();
        _app = ViewerApp.CreateHeadless(Time, width, height);
        State = new ViewerState(model, live: live);
        _viewer = new ViewerApp(_app, State);
        _session = _app.Begin(_viewer.Window);
        _app.LayoutAndDraw(true);
    }

    public VirtualTimeProvider Time { get; }
    public ViewerState State { get; }
    public IApplication App => _app;

    public Headless Press(params Key[] keys)
    {
        foreach (var key in keys) _app.InjectKey(key);
        _app.LayoutAndDraw(false);
        return this;
    }

    public Headless Type(string text) => Press([.. text.Select(c => (Key)c)]);

    public void Resize(int width, int height)
    {
        _app.Driver!.SetScreenSize(width, height);
        _app.LayoutAndDraw(true);
    }

    /// <summary>The screen as text, one line per row, trailing blanks kept.</summary>
    public string Screen => _app.Driver!.ToString()!.Replace("\r\n", "\n");

    public string[] Lines => Screen.TrimEnd('\n').Split('\n');

    public void Dispose()
    {
        if (_session is not null) _app.End(_session);
        _viewer.Dispose();
        _app.Dispose();
    }
}
