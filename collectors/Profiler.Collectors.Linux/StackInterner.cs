namespace Profiler.Collectors.Linux;

/// <summary>Gives each distinct raw stack an id; reports stacks seen for the first time.</summary>
public sealed class StackInterner
{
    readonly Dictionary<ulong[], ulong> _ids = new(new AddressesComparer());

    public int Count => _ids.Count;

    public ulong Intern(ReadOnlySpan<ulong> addresses, out bool isNew)
    {
        var key = addresses.ToArray();
        if (_ids.TryGetValue(key, out var id)) { isNew = false; return id; }
        id = (ulong)_ids.Count + 1;
        _ids[key] = id;
        isNew = true;
        return id;
    }

    sealed class AddressesComparer : IEqualityComparer<ulong[]>
    {
        public bool Equals(ulong[]? x, ulong[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(ulong[] a)
        {
            var h = new HashCode();
            h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
            return h.ToHashCode();
        }
    }
}
