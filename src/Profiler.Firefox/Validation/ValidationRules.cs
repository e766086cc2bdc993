using System.Text.RegularExpressions;

namespace Profiler.Firefox;

/// <summary>What a caller expects of its profile beyond the format: names that must not appear,
/// and views that must agree.</summary>
public sealed record ValidationRules
{
    /// <summary>
    /// Every thread's Deallocation Sites must sum to its Deallocated Memory: each free has a
    /// stack and releases an earlier allocation that has one. The format allows otherwise (a
    /// free of a block allocated before recording began), but the two views then disagree.
    /// </summary>
    public bool DeallocationViewsAgree { get; init; }

    readonly IReadOnlyList<string> _forbiddenNames = [];
    readonly Regex[] _patterns = [];

    /// <summary>
    /// Patterns ('*' for any run of characters, the rest literal) that no function, resource,
    /// library or native symbol may be named like: a profiler's own frames, say. A path matches
    /// when the whole of it or its last part does.
    /// </summary>
    public IReadOnlyList<string> ForbiddenNames
    {
        get => _forbiddenNames;
        init
        {
            _forbiddenNames = value;
            _patterns = [.. value.Select(glob =>
                new Regex("^" + string.Join(".*", glob.Split('*').Select(Regex.Escape)) + "$", RegexOptions.CultureInvariant))];
        }
    }

    /// <summary>The first of <see cref="ForbiddenNames"/> that <paramref name="name"/> matches, or null.</summary>
    public string? ForbiddenPatternOf(string name)
    {
        var lastPart = name[(name.LastIndexOfAny(['/', '\\']) + 1)..];
        for (int i = 0; i < _patterns.Length; i++)
            if (_patterns[i].IsMatch(name) || _patterns[i].IsMatch(lastPart)) return _forbiddenNames[i];
        return null;
    }
}
