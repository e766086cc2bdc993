using Profiler.Viewer.ViewModels;
using Terminal.Gui.Drawing;
using Terminal.Gui.Drivers;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;

namespace Profiler.Viewer.Ui;

/// <summary>Paints a <see cref="ViewerState"/> and feeds it the keys; all logic lives in the state.
/// Colours come from the theme's roles (normal, focus, highlight), which read on dark and light terminals.</summary>
public sealed class ViewerView : View
{
    readonly ViewerState _state;
    int _drawnVersion = -1;

    public ViewerView(ViewerState state)
    {
        _state = state;
        CanFocus = true;
        Width = Dim.Fill();
        Height = Dim.Fill();
    }

    public event Action? QuitRequested;

    /// <summary>Asks for a redraw when the state changed since the last one (live updates).</summary>
    public void RefreshIfChanged()
    {
        if (_state.Version != _drawnVersion) SetNeedsDraw();
    }

    protected override bool OnDrawingContent(DrawContext? context)
    {
        _drawnVersion = _state.Version;
        var size = Viewport.Size;
        var screen = _state.Render(size.Width, size.Height);
        for (int row = 0; row < screen.Lines.Count && row < size.Height; row++)
        {
            bool bar = row < screen.BarLines || row == screen.Lines.Count - 1;
            SetAttributeForRole(row == screen.Selected ? VisualRole.Focus : bar ? VisualRole.Highlight : VisualRole.Normal);
            Move(0, row);
            AddStr(screen.Lines[row]);
        }
        return true;
    }

    protected override bool OnKeyDown(Key key)
    {
        bool handled = Translate(key) switch
        {
            PageKey k => _state.Handle(k),
            char c => _state.Handle(c),
            _ => false,
        };
        if (key == Key.C.WithCtrl) { QuitRequested?.Invoke(); return true; }
        if (_state.QuitRequested) QuitRequested?.Invoke();
        if (handled) SetNeedsDraw();
        // Escape would otherwise quit the application; here it only steps back.
        return handled || key == Key.Esc;
    }

    static object? Translate(Key key)
    {
        if (key == Key.CursorUp) return PageKey.Up;
        if (key == Key.CursorDown) return PageKey.Down;
        if (key == Key.CursorLeft) return PageKey.Left;
        if (key == Key.CursorRight) return PageKey.Right;
        if (key == Key.PageUp) return PageKey.PageUp;
        if (key == Key.PageDown) return PageKey.PageDown;
        if (key == Key.Home) return PageKey.Home;
        if (key == Key.End) return PageKey.End;
        if (key == Key.Enter) return PageKey.Enter;
        if (key == Key.Esc) return PageKey.Escape;
        if (key == Key.Backspace) return PageKey.Backspace;
        if (key == Key.Tab) return '\t';
        if (key.IsCtrl || key.IsAlt) return null;
        var rune = key.AsRune;
        return rune.Value is > 0 and < 0x10000 && !char.IsControl((char)rune.Value) ? (char)rune.Value : null;
    }
}
