using System.IO.Compression;
using Google.Protobuf;

namespace Profiler.Core.Recording;

/// <summary>The records that hold a message's bytes compressed, CompressedEvents (format 3) and
/// CompressedStacks (format 4): the same three fields, written byte for byte as protobuf writes them.</summary>
static class CompressedRecord
{
    /// <summary>The fields: count and length (varints), the compressed bytes.</summary>
    public const byte CountTag = (1 << 3) | 0, LengthTag = (2 << 3) | 0, BrotliTag = (3 << 3) | 2;

    /// <summary>No batch the writer makes comes near it (16 Ki events of at most 9 ten-byte
    /// varints); a larger length is a writer's fault, not a batch to allocate for.</summary>
    public const int MaxDecompressedLength = 64 << 20;

    /// <summary>The record (<paramref name="recordTag"/>, its length, the three fields) holding
    /// <paramref name="plain"/> compressed, at the start of <paramref name="buffer"/>.</summary>
    /// <returns>The record's length.</returns>
    public static int Encode(byte recordTag, int count, ReadOnlySpan<byte> plain, ref byte[] buffer)
    {
        int length = plain.Length;
        const int Head = 1 + 5 + 1 + 5 + 1 + 5 + 1 + 5; // record tag and length, count, length, the bytes' tag and length
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
        Span<byte> head = stackalloc byte[6];
        int h = 0;
        head[h++] = recordTag;
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
}
