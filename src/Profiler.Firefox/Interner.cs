namespace Profiler.Firefox;

/// <summary>Hands out one row per distinct value, in first-seen order.</summary>
sealed class Interner<T> where T : notnull
{
    readonly Dictionary<T, int> _rows = [];
    readonly List<T> _values = [];

    public IReadOnlyList<T> Values => _values;
    public int Count => _values.Count;

    public int Intern(T value)
    {
        if (_rows.TryGetValue(value, out var row)) return row;
        row = _values.Count;
        _values.Add(value);
        _rows.Add(value, row);
        return row;
    }
}
