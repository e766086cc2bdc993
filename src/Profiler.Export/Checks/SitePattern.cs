using System.Text.RegularExpressions;

namespace Profiler.Export.Checks;

/// <summary>
/// Glob patterns over sites: <c>*</c> matches any run of characters (including <c>::</c>),
/// <c>?</c> one character, the rest literally and case-sensitively. A site matches when its
/// function name or its module's file name matches a pattern.
/// </summary>
public sealed class SitePattern
{
    readonly Regex[] _patterns;

    public SitePattern(IEnumerable<string> patterns) =>
        _patterns = patterns.Select(p => new Regex(
            "^" + Regex.Escape(p).Replace(@"\*", ".*").Replace(@"\?", ".") + "$",
            RegexOptions.CultureInvariant | RegexOptions.Singleline)).ToArray();

    public bool IsEmpty => _patterns.Length == 0;

    public bool Matches(string function, string? module) =>
        _patterns.Any(p => p.IsMatch(function) || (module is not null && p.IsMatch(module)));
}
