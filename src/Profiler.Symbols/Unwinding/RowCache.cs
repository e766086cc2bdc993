namespace Profiler.Symbols.Unwinding;

/// <summary>A direct-mapped cache of unwind rows by exact lookup address, remembering misses too.
/// A collision simply replaces the older row.</summary>
internal sealed class RowCache
{
    private struct Entry
    {
        public ulong Address;
        public byte State; // 0 empty, 1 row found, 2 no row
        public UnwindRow Row;
    }

    private readonly int _shift;
    private Entry[]? _entries;

    public RowCache(int size)
    {
        int bits = Math.Max(1, (int)Math.Ceiling(Math.Log2(size)));
        _shift = 64 - bits;
    }

    public bool TryGet(ulong address, out bool found, out UnwindRow row)
    {
        if (_entries is not null)
        {
            ref var entry = ref _entries[Slot(address)];
            if (entry.State != 0 && entry.Address == address)
            {
                found = entry.State == 1;
                row = entry.Row;
                return true;
            }
        }
        found = false;
        row = default;
        return false;
    }

    public void Add(ulong address, bool found, in UnwindRow row)
    {
        _entries ??= new Entry[1 << (64 - _shift)];
        ref var entry = ref _entries[Slot(address)];
        entry.Address = address;
        entry.State = found ? (byte)1 : (byte)2;
        entry.Row = row;
    }

    // Fibonacci hashing: consecutive return addresses spread over the whole table.
    private int Slot(ulong address) => (int)((address * 0x9E3779B97F4A7C15UL) >> _shift);
}
