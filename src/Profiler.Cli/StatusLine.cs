namespace Profiler.Cli;

/// <summary>A single self-overwriting line on a terminal; silent when output is not a terminal.</summary>
public sealed class StatusLine(TextWriter writer, bool enabled)
{
    int _width;

    public void Show(string text)
    {
        if (!enabled) return;
        writer.Write("\r" + text.PadRight(_width));
        _width = text.Length;
        writer.Flush();
    }

    public void Clear()
    {
        if (!enabled || _width == 0) return;
        writer.Write("\r" + new string(' ', _width) + "\r");
        _width = 0;
        writer.Flush();
    }
}
