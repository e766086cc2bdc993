using System.Buffers.Binary;
using System.Numerics;
using Google.Protobuf;

namespace Profiler.Core.Recording;

/// <summary>
/// How records lie in a recording. Format 1: each record is its varint length and its protobuf
/// bytes. Format 2 adds an integrity check, so one damaged byte costs one record instead of the
/// file (or, worse, silently changes a figure): the header keeps format 1's framing (so a reader
/// of format 1 can read its version and say the file is newer) followed by a CRC32C; every later
/// record is <c>sync · varint length · body · CRC32C</c>, the CRC over the length and the body.
/// The sync bytes let a reader that met a damaged length find the next record.
/// </summary>
public static class RecordFraming
{
    /// <summary>Never the start of a format-1 record after the header (a zero length), rarely met in data.</summary>
    public static ReadOnlySpan<byte> Sync => [0x00, 0xB7, 0x4D, 0x52];

    public const int CrcLength = 4;

    /// <summary>The first format whose records carry a CRC.</summary>
    public const uint CheckedVersion = 2;

    /// <summary>CRC32C (Castagnoli), as iSCSI and ext4 use it; hardware-accelerated where the CPU has it.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8) crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++) crc = BitOperations.Crc32C(crc, data[i]);
        return ~crc;
    }

    /// <summary>Writes one record in format 2's framing (the header without the sync bytes).</summary>
    public static void Write(Stream stream, IMessage record, bool header, ref byte[] buffer) =>
        Write(stream, record.CalculateSize(), span => record.WriteTo(span), header, ref buffer);

    /// <summary>Writes a record already encoded, the first <paramref name="length"/> bytes of <paramref name="body"/>.</summary>
    internal static void Write(Stream stream, byte[] body, int length, ref byte[] buffer) =>
        Write(stream, length, span => body.AsSpan(0, length).CopyTo(span), false, ref buffer);

    /// <summary>Writes a record's bytes as they are (tests build unusual records this way).</summary>
    public static void WriteBytes(Stream stream, ReadOnlySpan<byte> body, bool header = false)
    {
        var copy = body.ToArray();
        byte[] buffer = [];
        Write(stream, copy.Length, span => copy.CopyTo(span), header, ref buffer);
    }

    delegate void BodyWriter(Span<byte> span);

    static void Write(Stream stream, int size, BodyWriter writeBody, bool header, ref byte[] buffer)
    {
        int prefix = CodedOutputStream.ComputeLengthSize(size);
        int sync = header ? 0 : Sync.Length;
        int total = sync + prefix + size + CrcLength;
        if (buffer.Length < total) buffer = new byte[Math.Max(total, buffer.Length * 2)];
        var frame = buffer.AsSpan(0, total);
        Sync[..sync].CopyTo(frame);
        int at = sync;
        for (uint v = (uint)size; ; v >>= 7)
        {
            if (v < 0x80) { frame[at++] = (byte)v; break; }
            frame[at++] = (byte)(v | 0x80);
        }
        writeBody(frame.Slice(at, size));
        BinaryPrimitives.WriteUInt32LittleEndian(frame[(at + size)..], Crc32C(frame[sync..(at + size)]));
        stream.Write(frame);
    }
}
