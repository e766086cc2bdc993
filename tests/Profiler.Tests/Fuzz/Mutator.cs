namespace Profiler.Tests.Fuzz;

/// <summary>Seeded random damage of a file's bytes, of the kinds disks, copies and kills cause.</summary>
sealed class Mutator(int seed)
{
    readonly Random _rng = new(seed);

    public enum Kind { FlipBits, Overwrite, Zero, Truncate, Insert, Delete }

    public (Kind Kind, byte[] Bytes) Next(byte[] intact)
    {
        var kind = (Kind)_rng.Next(6);
        var bytes = (byte[])intact.Clone();
        int at = _rng.Next(bytes.Length);
        int span = 1 + _rng.Next(_rng.Next(2) == 0 ? 8 : 256);
        switch (kind)
        {
            case Kind.FlipBits:
                for (int k = _rng.Next(1, 5); k > 0; k--) bytes[_rng.Next(bytes.Length)] ^= (byte)(1 << _rng.Next(8));
                return (kind, bytes);
            case Kind.Overwrite:
                _rng.NextBytes(bytes.AsSpan(at, Math.Min(span, bytes.Length - at)));
                return (kind, bytes);
            case Kind.Zero:
                bytes.AsSpan(at, Math.Min(span, bytes.Length - at)).Clear();
                return (kind, bytes);
            case Kind.Truncate:
                return (kind, bytes[..at]);
            case Kind.Insert:
                var inserted = new byte[span];
                _rng.NextBytes(inserted);
                return (kind, [.. bytes[..at], .. inserted, .. bytes[at..]]);
            default:
                return (kind, [.. bytes[..at], .. bytes[Math.Min(bytes.Length, at + span)..]]);
        }
    }
}
