using System.IO.Compression;
using Google.Protobuf;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>The records that hold a message's bytes compressed, CompressedEvents (format 3),
/// CompressedStacks and CompressedRecords (format 4): the same three fields, written byte for byte
/// as protobuf writes them.</summary>
static class CompressedRecord
{
    /// <summary>Record.compressed_records, length-delimited (a tag of two bytes as a varint).</summary>
    public const uint RecordsTag = (16 << 3) | 2;

    /// <summary>The fields: count and length (varints), the compressed bytes.</summary>
    public const byte CountTag = (1 << 3) | 0, LengthTag = (2 << 3) | 0, BrotliTag = (3 << 3) | 2;

    /// <summary>No batch the writer makes comes near it (16 Ki events of at most 9 ten-byte
    /// varints); a larger length is a writer's fault, not a batch to allocate for.</summary>
    public const int MaxDecompressedLength = 64 << 20;

    /// <summary>The record (<paramref name="recordTag"/>, its length, the three fields) holding
    /// <paramref name="plain"/> compressed, at the start of <paramref name="buffer"/>.</summary>
    /// <returns>The record's length.</returns>
    public static int Encode(uint recordTag, int count, ReadOnlySpan<byte> plain, ref byte[] buffer)
    {
        int length = plain.Length;
        const int Head = 2 + 5 + 1 + 5 + 1 + 5 + 1 + 5; // record tag and length, count, length, the bytes' tag and length
        int most = Head + BrotliEncoder.GetMaxCompressedLength(length);
        if (buffer.Length < most) buffer = new byte[Math.Max(most, buffer.Length * 2)];
        if (!BrotliEncoder.TryCompress(plain, buffer.AsSpan(Head), out int compressed,
                RecordingFormat.CompressionQuality, RecordingFormat.CompressionWindow))
            throw new InvalidOperationException("Brotli could not compress a batch into its bound");
        Span<byte> fields = stackalloc byte[32];
        int f = 0;
        // As protobuf writes a message: fields holding zero are left out.
        if (count != 0) { fields[f++] = CountTag; f += PackedVarints.Write(fields[f..], (ulong)count); }
        if (length != 0) { fields[f++] = LengthTag; f += PackedVarints.Write(fields[f..], (ulong)length); }
        if (compressed != 0) { fields[f++] = BrotliTag; f += PackedVarints.Write(fields[f..], (ulong)compressed); }
        int message = f + compressed;
        Span<byte> head = stackalloc byte[7];
        int h = PackedVarints.Write(head, recordTag);
        h += PackedVarints.Write(head[h..], (ulong)message);
        // The compressed bytes stay where they are; the heads go just before them.
        int start = Head - f - h;
        head[..h].CopyTo(buffer.AsSpan(start));
        fields[..f].CopyTo(buffer.AsSpan(start + h));
        buffer.AsSpan(start, h + message).CopyTo(buffer);
        return h + message;
    }

    /// <summary>The plain bytes of compressed ones, into <paramref name="into"/> (of at least
    /// <paramref name="length"/> bytes); false unless they decompress to exactly that length.</summary>
    public static bool Decompress(ReadOnlySpan<byte> brotli, int length, Span<byte> into) =>
        BrotliDecoder.TryDecompress(brotli, into[..length], out int written) && written == length;

    /// <summary>The plain bytes of a record the protobuf parser read; null when they do not
    /// decompress to <paramref name="length"/>.</summary>
    public static byte[]? Decompress(ByteString brotli, uint length)
    {
        if (length > MaxDecompressedLength) return null;
        var plain = new byte[length];
        return Decompress(brotli.Span, plain.Length, plain) ? plain : null;
    }

    /// <summary>A CompressedRecords record holding <paramref name="record"/>, at the start of
    /// <paramref name="buffer"/>.</summary>
    /// <returns>The record's length.</returns>
    public static int EncodeRecord(Record record, ref byte[] plain, ref byte[] buffer)
    {
        int size = record.CalculateSize();
        int length = CodedOutputStream.ComputeLengthSize(size) + size;
        if (plain.Length < length) plain = new byte[Math.Max(length, plain.Length * 2)];
        var output = new CodedOutputStream(plain);
        output.WriteLength(size);
        record.WriteTo(output);
        output.Flush();
        return Encode(RecordsTag, 1, plain.AsSpan(0, length), ref buffer);
    }

    /// <summary>The records of a CompressedRecords record; null when it does not decompress to as
    /// many length-prefixed records as it says, or holds one that may not stand inside it.</summary>
    public static List<Record>? DecodeRecords(CompressedRecords compressed)
    {
        if (Decompress(compressed.Brotli, compressed.Length) is not { } plain) return null;
        var records = new List<Record>();
        var input = new CodedInputStream(plain);
        try
        {
            while (!input.IsAtEnd)
            {
                var record = new Record();
                input.ReadMessage(record);
                if (record.KindCase is Record.KindOneofCase.Header or Record.KindOneofCase.Events or Record.KindOneofCase.CompressedEvents
                    or Record.KindOneofCase.CompressedStacks or Record.KindOneofCase.CompressedRecords)
                    return null;
                records.Add(record);
            }
        }
        catch (InvalidProtocolBufferException) { return null; }
        return records.Count == compressed.Count ? records : null;
    }
}
