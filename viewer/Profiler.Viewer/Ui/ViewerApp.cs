using Profiler.Viewer.ViewModels;
using Terminal.Gui.App;
using Terminal.Gui.Time;
using Terminal.Gui.Views;

namespace Profiler.Viewer.Ui;

/// <summary>Hosts a <see cref="ViewerState"/> in a Terminal.Gui application: a real terminal, or a
/// headless driver with virtual time in tests.</summary>
public sealed class ViewerApp : IDisposable
{
    /// <summary>How often the screen picks up changes made from other threads (live mode).</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(250);

    readonly Window _window;
    readonly ViewerView _view;

    public ViewerApp(IApplication app, ViewerState state)
    {
        App = app;
        State = state;
        _view = new ViewerView(state);
        _window = new Window { BorderStyle = Terminal.Gui.Drawing.LineStyle.None };
        _window.Add(_view);
        _view.QuitRequested += () => App.RequestStop();
        App.AddTimeout(RefreshInterval, () => { _view.RefreshIfChanged(); return true; });
    }

    public IApplication App { get; }
    public ViewerState State { get; }
    public Window Window => _window;

    /// <summary>Runs until the user quits; the driver restores the terminal on the way out.</summary>
    public void Run()
    {
        _view.SetFocus();
        App.Run(_window);
    }

    /// <summary>Opens the UI on the terminal and returns when the user quits.</summary>
    public static void RunInTerminal(ViewerState state)
    {
        using var app = Application.Create();
        app.Init();
        using var viewer = new ViewerApp(app, state);
        viewer.Run();
    }

    /// <summary>For tests: an application on the ANSI driver with virtual time, not started.</summary>
    public static IApplication CreateHeadless(VirtualTimeProvider time, int width, int height)
    {
        var app = Application.Create(time);
        app.Init(Terminal.Gui.Drivers.DriverRegistry.Names.ANSI);
        app.Driver!.SetScreenSize(width, height);
        return app;
    }

    public void Dispose() => _window.Dispose();
}
