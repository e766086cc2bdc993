using System.Globalization;
using Profiler.Core;

namespace Profiler.Cli;

public static class DurationParser
{
    /// <summary>Parses 500ms, 30s, 2m, 1h or a plain number of seconds.</summary>
    public static TimeSpan Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        (string number, double scale) = t switch
        {
            _ when t.EndsWith("ms") => (t[..^2], 0.001),
            _ when t.EndsWith('s') => (t[..^1], 1.0),
            _ when t.EndsWith('m') => (t[..^1], 60.0),
            _ when t.EndsWith('h') => (t[..^1], 3600.0),
            _ => (t, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0 || double.IsInfinity(value))
            throw new ProfilerException(ExitCode.UsageError, $"'{text}' is not a duration (examples: 500ms, 30s, 2m)");
        return TimeSpan.FromSeconds(value * scale);
    }
}
