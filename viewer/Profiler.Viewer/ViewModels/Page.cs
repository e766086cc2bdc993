namespace Profiler.Viewer.ViewModels;

/// <summary>What a page shows: its lines, already fitted to the width, and which one is selected.</summary>
/// <param name="Selected">Index into <paramref name="Lines"/> of the highlighted line, -1 for none.</param>
public sealed record PageScreen(IReadOnlyList<string> Lines, int Selected = -1);

/// <summary>Keys a page understands, independent of the terminal library.</summary>
public enum PageKey { Up, Down, PageUp, PageDown, Home, End, Left, Right, Enter, Escape, Backspace }

/// <summary>A view of the recording as plain text: rendering and key handling with no terminal,
/// so each view is tested as a function of its view-model.</summary>
public interface IPage
{
    string Title { get; }
    /// <summary>The page's own keys, for the help bar.</summary>
    string Help { get; }
    PageScreen Render(int width, int height);
    /// <summary>True when the key was used.</summary>
    bool Handle(PageKey key);
    /// <summary>True when the character was used (letters and punctuation the page binds).</summary>
    bool Handle(char c);
    /// <summary>A page that takes text (search) wants every printable key while typing.</summary>
    bool CapturesText => false;
}

static class Text
{
    /// <summary>Cuts to <paramref name="width"/> with an ellipsis, or pads to it.</summary>
    public static string Fit(string text, int width)
    {
        if (width <= 0) return "";
        if (text.Length <= width) return text.PadRight(width);
        return width == 1 ? "…" : text[..(width - 1)] + "…";
    }

    public static string Right(string text, int width) => text.Length >= width ? text[..width] : text.PadLeft(width);
}
