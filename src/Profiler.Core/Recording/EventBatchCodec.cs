using System.Collections;
using Google.Protobuf.Reflection;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>Event batches to and from their records, column by column as <see cref="EventColumns.Schema"/> lists them.</summary>
static class EventBatchCodec
{
    /// <summary>Record.events, length-delimited.</summary>
    public const byte RecordTag = (5 << 3) | 2;

    /// <summary>Each column's field of the generated EventBatch, for batches the protobuf parser read.</summary>
    static readonly IFieldAccessor[] ParsedFields =
    [
        .. EventColumns.Schema.Select(c => EventBatch.Descriptor.FindFieldByNumber(c.Field)?.Accessor
            ?? throw new InvalidOperationException($"event column {c.Name}: EventBatch has no field {c.Field}")),
    ];

    /// <summary>The Record holding all <paramref name="events"/> as one EventBatch, byte for byte as
    /// protobuf would write it from the generated classes (recordings written before are alike).</summary>
    /// <param name="timeBefore">The time of the event written before these (times are deltas).</param>
    /// <returns>The record's length at the start of <paramref name="buffer"/>.</returns>
    public static int EncodeRecord(EventColumns events, long timeBefore, ref byte[] buffer)
    {
        const int RecordHead = 1 + 5; // the record's tag and its length, at most
        int most = RecordHead;
        foreach (var column in EventColumns.Schema) most += column.MaxEncodedLength(events.Count);
        if (buffer.Length < most) buffer = new byte[Math.Max(most, buffer.Length * 2)];
        // The batch is written after room for the longest head, then moved to close the gap: its
        // length is known only once it is written.
        int batch = 0;
        foreach (var column in EventColumns.Schema)
            batch += column.Encode(events, events.Count, timeBefore, buffer.AsSpan(RecordHead + batch));
        int at = PackedVarints.Write(buffer, RecordTag);
        at += PackedVarints.Write(buffer.AsSpan(at), (ulong)batch);
        buffer.AsSpan(RecordHead, batch).CopyTo(buffer.AsSpan(at));
        return at + batch;
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
