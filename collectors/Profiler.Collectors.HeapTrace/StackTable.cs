using System.Runtime.InteropServices;

namespace Profiler.Collectors.HeapTrace;

/// <summary>Gives each distinct stack an id (1, 2, …); says when a stack is new so it is written once.</summary>
public sealed class StackTable
{
    readonly Dictionary<ulong[], ulong> _ids = new(new AddressesComparer());

    public int Count => _ids.Count;

    public ulong Intern(ulong[] addresses, out bool isNew)
    {
        if (_ids.TryGetValue(addresses, out var id)) { isNew = false; return id; }
        id = (ulong)_ids.Count + 1;
        _ids[addresses] = id;
        isNew = true;
        return id;
    }

    sealed class AddressesComparer : IEqualityComparer<ulong[]>
    {
        public bool Equals(ulong[]? x, ulong[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(ulong[] addresses)
        {
            var h = new HashCode();
            h.AddBytes(MemoryMarshal.AsBytes(addresses.AsSpan()));
            return h.ToHashCode();
        }
    }
}
