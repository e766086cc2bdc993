using System.Collections;
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
        return CompressedRecord.Encode(CompressedRecordTag, count, plain.AsSpan(0, length), ref buffer);
    }

    /// <summary>Undoes the writer's tighter coding of <paramref name="count"/> decoded events from <paramref name="at"/>.</summary>
    public static void Loosen(EventColumns events, int at, int count)
    {
        foreach (var column in EventColumns.Schema) column.Loosen(events, at, count);
    }

    /// <summary>A CompressedEvents record's EventBatch, as the protobuf parser reads it; null when
    /// it does not decompress to its length or is no EventBatch.</summary>
    public static EventBatch? Decompress(CompressedEvents record)
    {
        if (CompressedRecord.Decompress(record.Brotli, record.Length) is not { } plain) return null;
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
