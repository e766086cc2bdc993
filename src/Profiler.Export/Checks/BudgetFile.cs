using Profiler.Core;

namespace Profiler.Export.Checks;

/// <summary>
/// A budgets file committed with a project: one <c>key = value</c> per line, keys named as the
/// command-line options, <c>#</c> starts a comment. <c>ignore</c> may repeat.
/// <code>
/// max-peak = 64MiB
/// max-leaked = 0
/// fail-on-leak = true
/// ignore = test_harness::*
/// </code>
/// </summary>
public static class BudgetFile
{
    /// <param name="parseSize">Parses a size such as 64MiB (the CLI's parser).</param>
    public static Budgets Parse(string text, string fileName, Func<string, ulong> parseSize)
    {
        var budgets = new Budgets();
        var ignore = new List<string>();
        var seen = new Dictionary<string, int>();
        var lines = text.Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n];
            int hash = line.IndexOf('#');
            if (hash >= 0) line = line[..hash];
            line = line.Trim();
            if (line.Length == 0) continue;
            int eq = line.IndexOf('=');
            if (eq <= 0) throw Error(fileName, n, $"expected 'key = value', not '{line}'");
            string key = line[..eq].Trim().TrimStart('-').ToLowerInvariant();
            string value = line[(eq + 1)..].Trim().Trim('"', '\'');
            // Two limits of one kind are a mistake to point out, not a choice to make silently.
            if (key != "ignore" && !seen.TryAdd(key, n))
                throw Error(fileName, n, $"'{key}' is set twice (first on line {seen[key] + 1})");
            try
            {
                budgets = key switch
                {
                    "max-peak" => budgets with { MaxPeak = parseSize(value) },
                    "max-leaked" => budgets with { MaxLeaked = parseSize(value) },
                    "max-allocated" => budgets with { MaxAllocated = parseSize(value) },
                    "max-allocs" => budgets with { MaxAllocs = ParseCount(value) },
                    "fail-on-leak" => budgets with { FailOnLeak = ParseBool(value) },
                    "ignore" => Add(budgets, ignore, value),
                    _ => throw new ProfilerException(ExitCode.UsageError,
                        $"unknown key '{key}' (use max-peak, max-leaked, max-allocated, max-allocs, fail-on-leak, ignore)"),
                };
            }
            catch (ProfilerException e)
            {
                throw Error(fileName, n, e.Message);
            }
        }
        return budgets with { Ignore = ignore };
    }

    static Budgets Add(Budgets budgets, List<string> ignore, string pattern)
    {
        if (pattern.Length == 0) throw new ProfilerException(ExitCode.UsageError, "empty ignore pattern");
        ignore.Add(pattern);
        return budgets;
    }

    public static ulong ParseCount(string text) =>
        ulong.TryParse(text.Replace("_", "").Replace(",", ""), out var n) ? n
            : throw new ProfilerException(ExitCode.UsageError, $"'{text}' is not a count of allocations");

    static bool ParseBool(string text) => text.ToLowerInvariant() switch
    {
        "true" or "yes" or "1" => true,
        "false" or "no" or "0" => false,
        _ => throw new ProfilerException(ExitCode.UsageError, $"'{text}' is not true or false"),
    };

    static ProfilerException Error(string fileName, int line, string message) =>
        new(ExitCode.UsageError, $"{fileName}:{line + 1}: {message}");
}
