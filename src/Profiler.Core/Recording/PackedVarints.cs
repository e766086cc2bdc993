using System.Numerics;

namespace Profiler.Core.Recording;

/// <summary>
/// A packed repeated field's values, read and written exactly as protobuf does: the event columns
/// are encoded and decoded here rather than through generated objects, which cost an allocation
/// per column per batch and seconds on recordings of millions of events.
/// </summary>
static unsafe class PackedVarints
{
    /// <summary>Receives each decoded value; a struct, so every column's loop is compiled for its type.</summary>
    public interface ISink
    {
        void Put(int i, ulong value);
    }

    /// <summary>Decodes exactly <paramref name="count"/> varints that fill the bytes exactly.</summary>
    public static bool Read<TSink>(byte* p, int length, int count, TSink sink) where TSink : struct, ISink
    {
        byte* end = p + length;
        for (int i = 0; i < count; i++)
        {
            if (p >= end) return false;
            ulong b = *p++;
            if (b >= 0x80)
            {
                // As protobuf reads varints: at most ten bytes; 32-bit fields keep the low 32 bits.
                ulong value = b & 0x7f;
                int shift = 7;
                do
                {
                    if (p >= end || shift > 63) return false;
                    b = *p++;
                    value |= (b & 0x7f) << shift;
                    shift += 7;
                } while (b >= 0x80);
                b = value;
            }
            sink.Put(i, b);
        }
        return p == end;
    }

    /// <summary>The varint at <paramref name="pos"/>, read on to its end (at most ten bytes);
    /// <paramref name="pos"/> becomes -1 when the bytes end first.</summary>
    public static ulong Read(ReadOnlySpan<byte> bytes, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; pos < bytes.Length && shift < 70; shift += 7)
        {
            byte b = bytes[pos++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
        pos = -1;
        return 0;
    }

    public static int Size(ulong value) => BitOperations.Log2(value | 1) / 7 + 1;

    /// <returns>The bytes written.</returns>
    public static int Write(Span<byte> to, ulong value)
    {
        int at = 0;
        for (; value >= 0x80; value >>= 7) to[at++] = (byte)(value | 0x80);
        to[at++] = (byte)value;
        return at;
    }

    /// <summary>Writes one varint at <paramref name="p"/> (room for ten bytes); returns the byte after it.</summary>
    public static byte* Put(byte* p, ulong value)
    {
        for (; value >= 0x80; value >>= 7) *p++ = (byte)(value | 0x80);
        *p++ = (byte)value;
        return p;
    }

    public readonly struct UInt64Sink(ulong* to) : ISink
    {
        public void Put(int i, ulong value) => to[i] = value;
    }

    public readonly struct UInt32Sink(uint* to) : ISink
    {
        public void Put(int i, ulong value) => to[i] = (uint)value;
    }

    /// <summary>Enums are int32 on the wire.</summary>
    public readonly struct Int32Sink(int* to) : ISink
    {
        public void Put(int i, ulong value) => to[i] = (int)value;
    }

    /// <summary>Delta-encoded times: each value is added to the running time.</summary>
    public readonly struct TimeSink(long* to, long* time) : ISink
    {
        public void Put(int i, ulong value) => to[i] = *time += (long)value;
    }
}
