namespace Profiler.Symbols.Elf;

/// <summary>LEB128 numbers, as DWARF (.debug_*) and call frame information (.eh_frame) encode
/// them. Bits past the 64th are dropped.</summary>
static class Leb128
{
    /// <returns>The bytes the number took, or -1 when the data ends before its last byte.</returns>
    public static int ReadUnsigned(ReadOnlySpan<byte> data, out ulong value)
    {
        value = 0;
        int shift = 0;
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            if (shift < 64)
                value |= (ulong)(b & 0x7f) << shift;
            shift += 7;
            if ((b & 0x80) == 0)
                return i + 1;
        }
        return -1;
    }

    /// <returns>The bytes the number took, or -1 when the data ends before its last byte.</returns>
    public static int ReadSigned(ReadOnlySpan<byte> data, out long value)
    {
        value = 0;
        int shift = 0;
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            if (shift < 64)
                value |= (long)(b & 0x7f) << shift;
            shift += 7;
            if ((b & 0x80) != 0) continue;
            if (shift < 64 && (b & 0x40) != 0)
                value |= -1L << shift;
            return i + 1;
        }
        return -1;
    }
}
