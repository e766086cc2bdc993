namespace Profiler.Firefox;

/// <summary>Hands out one row per distinct value, in first-seen order.</summary>
/// <remarks>The rows are found through an open-addressing table of row numbers (at most half
/// full) and each row's hash: an exported stack table has a million rows, which a dictionary
/// beside the list kept at ~24 bytes a row, and twice that while it grew.</remarks>
sealed class Interner<T> where T : notnull
{
    static readonly EqualityComparer<T> Comparer = EqualityComparer<T>.Default;
    readonly List<T> _values = [];
    readonly List<int> _hashes = [];
    /// <summary>Row + 1 per slot (0: empty).</summary>
    int[] _slots = new int[64];

    public IReadOnlyList<T> Values => _values;
    public int Count => _values.Count;

    public int Intern(T value)
    {
        int hash = Comparer.GetHashCode(value);
        int mask = _slots.Length - 1;
        int slot = Slot(hash, mask);
        for (; _slots[slot] != 0; slot = (slot + 1) & mask)
        {
            int held = _slots[slot] - 1;
            if (_hashes[held] == hash && Comparer.Equals(_values[held], value)) return held;
        }
        int row = _values.Count;
        _values.Add(value);
        _hashes.Add(hash);
        if (2 * _values.Count > _slots.Length) Grow();
        else _slots[slot] = row + 1;
        return row;
    }

    void Grow()
    {
        _slots = new int[_slots.Length * 2];
        int mask = _slots.Length - 1;
        for (int row = 0; row < _values.Count; row++)
        {
            int slot = Slot(_hashes[row], mask);
            while (_slots[slot] != 0) slot = (slot + 1) & mask;
            _slots[slot] = row + 1;
        }
    }

    /// <summary>Spreads the hash (a record's combined hash may vary little in its low bits).</summary>
    static int Slot(int hash, int mask) => (int)(((uint)hash * 0x9E3779B97F4A7C15UL) >> 32) & mask;
}
