namespace Profiler.Export.Pprof;

/// <summary>The profile's shared string table: each distinct string once, "" at index 0 as
/// profile.proto requires, so an unset index field reads as the empty string.</summary>
sealed class StringTable
{
    readonly Dictionary<string, long> _index = new(StringComparer.Ordinal) { [""] = 0 };
    readonly List<string> _strings = [""];

    public IReadOnlyList<string> Strings => _strings;

    public long Intern(string? text)
    {
        if (string.IsNullOrEmpty(text)) return 0;
        if (_index.TryGetValue(text, out long id)) return id;
        id = _strings.Count;
        _strings.Add(text);
        _index[text] = id;
        return id;
    }
}
