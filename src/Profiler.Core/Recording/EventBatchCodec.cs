using System.Collections;
using System.IO.Compression;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>Event batches to and from their records, column by column as <see cref="EventColumns.Schema"/> lists them.</summary>
static class EventBatchCodec
{
    /// <summary>Record.events, length-delimited.</summary>
    public const byte RecordTag = (5 << 3) | 2;

    /// <summary>Record.compressed_events, length-delimited.</summary>
    public const byte CompressedRecordTag = (14 << 3) | 2;

    /// <summary>CompressedEvents' fields: count and length (varints), the compressed bytes.</summary>
    public const byte CountTag = (1 << 3) | 0, LengthTag = (2 << 3) | 0, BrotliTag = (3 << 3) | 2;

    /// <summary>No batch the writer makes comes near it (16 Ki events of at most 9 ten-byte
    /// varints); a larger length is a writer's fault, not a batch to allocate for.</summary>
    public const int MaxDecompressedLength = 64 << 20;

    /// <summary>Each column's field of the generated EventBatch, for batches the protobuf parser read.</summary>
    static readonly IFieldAccessor[] ParsedFields =
    [
        .. EventColumns.Schema.Select(c => EventBatch.Descriptor.FindFieldByNumber(c.Field)?.Accessor
            ?? throw new InvalidOperationException($"event column {c.Name}: EventBatch has no field {c.Field}")),
    ];

    /// <summary>The Record holding all <paramref name="events"/> as one CompressedEvents, byte for
    /// byte as protobuf would write it: the batch's columns coded tighter, encoded as an EventBatch
    /// and compressed. The events are as they were afterwards.</summary>
    /// <param name="plain">Scratch for the EventBatch's bytes before compression.</param>
    /// <returns>The record's length at the start of <paramref name="buffer"/>.</returns>
    public static int EncodeCompressedRecord(EventColumns events, long timeBefore, ref byte[] plain, ref byte[] buffer)
    {
        int count = events.Count;
        foreach (var column in EventColumns.Schema) column.Tighten(events, 0, count);
        int length = EncodeBatch(events, timeBefore, ref plain);
        Loosen(events, 0, count);

        const int Head = 1 + 5 + 1 + 5 + 1 + 5 + 1 + 5; // record tag and length, count, length, the bytes' tag and length
        int most = Head + BrotliEncoder.GetMaxCompressedLength(length);
        if (buffer.Length < most) buffer = new byte[Math.Max(most, buffer.Length * 2)];
        if (!BrotliEncoder.TryCompress(plain.AsSpan(0, length), buffer.AsSpan(Head), out int compressed,
                RecordingFormat.CompressionQuality, RecordingFormat.CompressionWindow))
            throw new InvalidOperationException("Brotli could not compress an event batch into its bound");
        Span<byte> fields = stackalloc byte[32];
        int f = 0;
        // As protobuf writes a message: fields holding zero are left out.
        if (count != 0) { fields[f++] = CountTag; f += PackedVarints.Write(fields[f..], (ulong)count); }
        if (length != 0) { fields[f++] = LengthTag; f += PackedVarints.Write(fields[f..], (ulong)length); }
        if (compressed != 0) { fields[f++] = BrotliTag; f += PackedVarints.Write(fields[f..], (ulong)compressed); }
        int message = f + compressed;
        Span<byte> head = stackalloc byte[6];
        int h = 0;
        head[h++] = CompressedRecordTag;
        h += PackedVarints.Write(head[h..], (ulong)message);
        // The compressed bytes stay where they are; the heads go just before them.
        int start = Head - f - h;
        head[..h].CopyTo(buffer.AsSpan(start));
        fields[..f].CopyTo(buffer.AsSpan(start + h));
        buffer.AsSpan(start, h + message).CopyTo(buffer);
        return h + message;
    }

    /// <summary>The EventBatch's bytes of a compressed batch, into <paramref name="into"/> (of at
    /// least <paramref name="length"/> bytes); false unless they decompress to exactly that length.</summary>
    public static bool Decompress(ReadOnlySpan<byte> brotli, int length, Span<byte> into) =>
        BrotliDecoder.TryDecompress(brotli, into[..length], out int written) && written == length;

    /// <summary>Undoes the writer's tighter coding of <paramref name="count"/> decoded events from <paramref name="at"/>.</summary>
    public static void Loosen(EventColumns events, int at, int count)
    {
        foreach (var column in EventColumns.Schema) column.Loosen(events, at, count);
    }

    /// <summary>A CompressedEvents record's EventBatch, as the protobuf parser reads it; null when
    /// it does not decompress to its length or is no EventBatch.</summary>
    public static EventBatch? Decompress(CompressedEvents record)
    {
        if (record.Length > MaxDecompressedLength) return null;
        var plain = new byte[record.Length];
        if (!Decompress(record.Brotli.Span, plain.Length, plain)) return null;
        try { return EventBatch.Parser.ParseFrom(plain); }
        catch (InvalidProtocolBufferException) { return null; }
    }

    /// <summary>The EventBatch message's bytes (no record head) at the start of <paramref name="buffer"/>.</summary>
    static int EncodeBatch(EventColumns events, long timeBefore, ref byte[] buffer)
    {
        int most = 0;
        foreach (var column in EventColumns.Schema) most += column.MaxEncodedLength(events.Count);
        if (buffer.Length < most) buffer = new byte[Math.Max(most, buffer.Length * 2)];
        int length = 0;
        foreach (var column in EventColumns.Schema)
            length += column.Encode(events, events.Count, timeBefore, buffer.AsSpan(length));
        return length;
    }

    /// <summary>The number of events in a batch the protobuf parser read; -1 when its columns differ in length.</summary>
    public static int Count(EventBatch batch)
    {
        int count = -1;
        foreach (var field in ParsedFields)
        {
            int n = ((IList)field.GetValue(batch)).Count;
            if (count >= 0 && n != count) return -1;
            count = n;
        }
        return count;
    }

    /// <summary>Writes a parsed batch's events (of equal columns) from <paramref name="at"/>.</summary>
    /// <param name="time">The time of the event before them; becomes that of the last one.</param>
    public static void Decode(EventBatch batch, EventColumns into, int at, ref long time)
    {
        var schema = EventColumns.Schema;
        for (int k = 0; k < schema.Length; k++)
            schema[k].Decode((IList)ParsedFields[k].GetValue(batch), into, at, ref time);
    }
}
