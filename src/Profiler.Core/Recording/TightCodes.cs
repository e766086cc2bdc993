namespace Profiler.Core.Recording;

/// <summary>How a column's values are turned, in a compressed batch (format 3), into numbers that
/// are small or repeat, before they are written as the column's varints.</summary>
public enum TightCoding
{
    /// <summary>As they are: already small or repeating (kinds, sizes, stack ids, times' deltas).</summary>
    Plain,
    /// <summary>Zigzag of the step from the value before in the batch (the first from 0): addresses
    /// lie near each other, and a pid or tid changes rarely.</summary>
    Delta,
    /// <summary>Zigzag of the difference from the event's size (a plain column): the weight is
    /// the size at rate 1.</summary>
    FromSize,
}

/// <summary>The codings of <see cref="TightCoding"/>, in place over a batch's column; every step and
/// difference wraps, so any value comes back exactly.</summary>
static class TightCodes
{
    public static void ToSteps(Span<uint> values)
    {
        uint before = 0;
        for (int i = 0; i < values.Length; i++)
        {
            uint value = values[i];
            int step = unchecked((int)(value - before));
            values[i] = (uint)((step << 1) ^ (step >> 31));
            before = value;
        }
    }

    public static void FromSteps(Span<uint> codes)
    {
        uint value = 0;
        for (int i = 0; i < codes.Length; i++)
        {
            uint z = codes[i];
            codes[i] = value = unchecked(value + (uint)((int)(z >> 1) ^ -(int)(z & 1)));
        }
    }

    public static void ToSteps(Span<ulong> values)
    {
        ulong before = 0;
        for (int i = 0; i < values.Length; i++)
        {
            ulong value = values[i];
            values[i] = ZigZag(unchecked((long)(value - before)));
            before = value;
        }
    }

    public static void FromSteps(Span<ulong> codes)
    {
        ulong value = 0;
        for (int i = 0; i < codes.Length; i++) codes[i] = value = unchecked(value + (ulong)UnZigZag(codes[i]));
    }

    public static void ToDifferences(Span<ulong> values, ReadOnlySpan<ulong> from)
    {
        for (int i = 0; i < values.Length; i++) values[i] = ZigZag(unchecked((long)(values[i] - from[i])));
    }

    public static void FromDifferences(Span<ulong> codes, ReadOnlySpan<ulong> from)
    {
        for (int i = 0; i < codes.Length; i++) codes[i] = unchecked(from[i] + (ulong)UnZigZag(codes[i]));
    }

    public static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));

    public static long UnZigZag(ulong z) => (long)(z >> 1) ^ -(long)(z & 1);
}
