using System.Text;

namespace Profiler.Collectors.Windows;

/// <summary>
/// Joins arguments into one Windows command line that the C runtime's argument parser (and
/// CommandLineToArgvW) splits back into the same arguments: CreateProcess takes a single string.
/// </summary>
public static class WindowsCommandLine
{
    public static string Join(IEnumerable<string> arguments) => string.Join(' ', arguments.Select(Quote));

    /// <summary>Quotes one argument when it needs it. Backslashes are literal except before a
    /// double quote, where each one must be doubled (and the quote escaped).</summary>
    public static string Quote(string argument)
    {
        if (argument.Length > 0 && argument.IndexOfAny([' ', '\t', '\n', '\v', '"']) < 0) return argument;
        var quoted = new StringBuilder("\"");
        int backslashes = 0;
        foreach (char c in argument)
        {
            if (c == '\\') { backslashes++; continue; }
            if (c == '"')
            {
                quoted.Append('\\', backslashes * 2 + 1).Append('"');
            }
            else
            {
                quoted.Append('\\', backslashes).Append(c);
            }
            backslashes = 0;
        }
        // Backslashes before the closing quote would escape it: double them.
        quoted.Append('\\', backslashes * 2).Append('"');
        return quoted.ToString();
    }
}
