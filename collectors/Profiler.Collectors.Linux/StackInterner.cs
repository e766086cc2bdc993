using System.Numerics;

namespace Profiler.Collectors.Linux;

/// <summary>Gives each distinct raw stack an id; reports stacks seen for the first time.
/// Runs once per event, so known stacks are found by span without allocating a key.</summary>
public sealed class StackInterner
{
    readonly Dictionary<ulong[], ulong> _ids = new(new AddressesComparer());

    public int Count => _ids.Count;

    public ulong Intern(ReadOnlySpan<ulong> addresses, out bool isNew)
    {
        var lookup = _ids.GetAlternateLookup<ReadOnlySpan<ulong>>();
        if (lookup.TryGetValue(addresses, out var id)) { isNew = false; return id; }
        id = (ulong)_ids.Count + 1;
        _ids[addresses.ToArray()] = id;
        isNew = true;
        return id;
    }

    sealed class AddressesComparer : IEqualityComparer<ulong[]>, IAlternateEqualityComparer<ReadOnlySpan<ulong>, ulong[]>
    {
        public bool Equals(ulong[]? x, ulong[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(ulong[] a) => GetHashCode((ReadOnlySpan<ulong>)a);

        public bool Equals(ReadOnlySpan<ulong> alternate, ulong[] other) => alternate.SequenceEqual(other);

        /// <summary>Once per event: a multiply-rotate over the addresses, a few cycles each
        /// (stacks come from the profiled program, not from an adversary).</summary>
        public int GetHashCode(ReadOnlySpan<ulong> alternate)
        {
            ulong h = (ulong)alternate.Length;
            foreach (ulong address in alternate) h = BitOperations.RotateLeft((h ^ address) * 0x9E3779B97F4A7C15UL, 29);
            return (int)(h ^ (h >> 32));
        }

        public ulong[] Create(ReadOnlySpan<ulong> alternate) => alternate.ToArray();
    }
}
