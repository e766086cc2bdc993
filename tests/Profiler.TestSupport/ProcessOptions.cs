namespace Profiler.TestSupport;

/// <summary>How to run a program beyond its arguments.</summary>
public sealed record ProcessOptions
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Variables to set in the child's environment; a null value removes the variable.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    public string? WorkingDirectory { get; init; }

    /// <summary>Lines for its standard input, each followed by "\n"; without any, it reads end of file at once.</summary>
    public IEnumerable<string>? InputLines { get; init; }

    /// <summary>Its standard input stays open for <see cref="RunningProcess.Send"/> (a program driven line by line).</summary>
    public bool Interactive { get; init; }

    /// <summary>How long <see cref="ProcessRunner.Run"/> waits before killing the process and its children.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>A copy with <paramref name="name"/> set to <paramref name="value"/> (null: removed).</summary>
    public ProcessOptions WithEnvironment(string name, string? value) =>
        this with { Environment = new Dictionary<string, string?>(Environment) { [name] = value } };

    /// <summary>Untranslated messages, so parsers see the English text they expect.</summary>
    public static ProcessOptions CLocale { get; } = new() { Environment = new Dictionary<string, string?> { ["LC_ALL"] = "C" } };
}
