using System.Buffers;

namespace Profiler.Core.Recording;

/// <summary>
/// One event batch waiting to be decoded: where its packed columns lie in the recording's bytes,
/// where a compressed batch's bytes lie (its columns are found once it is decompressed), or a
/// batch the protobuf parser already read (one with an unusual encoding). Decoding accepts
/// exactly what the protobuf parser would read the same way and reports anything else, which sends
/// the whole recording to the reference reader.
/// </summary>
sealed unsafe class EventBatchSlice
{
    static readonly EventColumn[] Columns = EventColumns.Schema;

    /// <summary>The schema index of each EventBatch field number; -1 for none.</summary>
    static readonly int[] ColumnOfField = IndexFields();

    readonly long[] _offsets = new long[Columns.Length];
    readonly int[] _lengths = new int[Columns.Length];
    readonly Proto.EventBatch? _parsed;
    /// <summary>A compressed batch: where its Brotli bytes lie, and its EventBatch's length.</summary>
    readonly (long At, int Length, int PlainLength)? _compressed;

    EventBatchSlice(int count, Proto.EventBatch? parsed) => (Count, _parsed) = (count, parsed);

    EventBatchSlice(int count, long at, int length, int plainLength) => (Count, _compressed) = (count, (at, length, plainLength));

    public int Count { get; }

    /// <summary>Where the batch's bytes end in the recording (0 for a batch the parser read).</summary>
    public long End
    {
        get
        {
            if (_compressed is { } c) return c.At + c.Length;
            long end = 0;
            for (int k = 0; k < _offsets.Length; k++) end = Math.Max(end, _offsets[k] + _lengths[k]);
            return end;
        }
    }

    /// <summary>A record that is exactly one event batch, as the writer lays it out: an EventBatch
    /// whose columns are all packed, each at most once and in field order, or a CompressedEvents
    /// with its three fields in order; null for anything else.</summary>
    /// <param name="bodyStart">Where <paramref name="body"/> starts in the recording.</param>
    public static EventBatchSlice? TryLocate(ReadOnlySpan<byte> body, long bodyStart)
    {
        if (body.Length < 2) return null;
        if (body[0] == EventBatchCodec.CompressedRecordTag) return TryLocateCompressed(body, bodyStart);
        if (body[0] != EventBatchCodec.RecordTag) return null;
        int pos = 1;
        if (!TryReadLength(body, ref pos, out int batchLength) || batchLength != body.Length - pos) return null;
        var offsets = new long[Columns.Length];
        var lengths = new int[Columns.Length];
        if (!TryLocateColumns(body[pos..], bodyStart + pos, offsets, lengths, out int count)) return null;
        var slice = new EventBatchSlice(count, null);
        offsets.CopyTo(slice._offsets, 0);
        lengths.CopyTo(slice._lengths, 0);
        return slice;
    }

    /// <summary>Where each column of an EventBatch's bytes lies, and the number of events.</summary>
    static bool TryLocateColumns(ReadOnlySpan<byte> batch, long batchStart, long[] offsets, int[] lengths, out int count)
    {
        count = 0;
        int pos = 0;
        int lastField = 0;
        while (pos < batch.Length)
        {
            int tag = batch[pos++];
            int field = tag >> 3;
            // Tags of fields 1-15 are single bytes; a repeated, unknown or unpacked field is not ours.
            if (tag >= 0x80 || (tag & 7) != 2 || field <= lastField || field >= ColumnOfField.Length || ColumnOfField[field] < 0)
                return false;
            lastField = field;
            if (!TryReadLength(batch, ref pos, out int length) || length > batch.Length - pos) return false;
            offsets[ColumnOfField[field]] = batchStart + pos;
            lengths[ColumnOfField[field]] = length;
            pos += length;
        }
        // The first column (kinds) gives the count: one varint ends at each byte below 0x80, and
        // kinds are almost always single bytes.
        var first = batch.Slice((int)(offsets[0] - batchStart), lengths[0]);
        if (first.Length > 0 && first[^1] >= 0x80) return false;
        count = first.Length;
        if (first.IndexOfAnyInRange((byte)0x80, (byte)0xff) >= 0)
            foreach (byte b in first)
                if (b >= 0x80) count--;
        return true;
    }

    /// <summary>A CompressedEvents record as the writer writes it: count, length, then the bytes.</summary>
    static EventBatchSlice? TryLocateCompressed(ReadOnlySpan<byte> body, long bodyStart)
    {
        int pos = 1;
        if (!TryReadLength(body, ref pos, out int messageLength) || messageLength != body.Length - pos) return null;
        if (pos >= body.Length || body[pos++] != CompressedRecord.CountTag || !TryReadLength(body, ref pos, out int count) || count == 0) return null;
        if (pos >= body.Length || body[pos++] != CompressedRecord.LengthTag || !TryReadLength(body, ref pos, out int plainLength) ||
            plainLength == 0 || plainLength > CompressedRecord.MaxDecompressedLength) return null;
        if (pos >= body.Length || body[pos++] != CompressedRecord.BrotliTag || !TryReadLength(body, ref pos, out int length) ||
            length != body.Length - pos) return null;
        return new EventBatchSlice(count, bodyStart + pos, length, plainLength);
    }

    /// <summary>A batch the protobuf parser read; null when its columns differ in length.</summary>
    public static EventBatchSlice? Parsed(Proto.EventBatch batch)
    {
        int count = EventBatchCodec.Count(batch);
        return count < 0 ? null : new EventBatchSlice(count, batch);
    }

    /// <summary>Writes the batch's events at <paramref name="at"/>; <paramref name="time"/> is the
    /// time of the event before them and becomes that of the last one.</summary>
    /// <returns>False when a column is malformed or holds a different number of values.</returns>
    public bool DecodeInto(byte* data, EventColumns events, int at, ref long time)
    {
        if (_parsed is { } batch)
        {
            EventBatchCodec.Decode(batch, events, at, ref time);
            return true;
        }
        if (_compressed is { } compressed) return DecodeCompressed(data, compressed, events, at, ref time);
        return DecodeColumns(data, _offsets, _lengths, events, at, ref time);
    }

    bool DecodeColumns(byte* data, long[] offsets, int[] lengths, EventColumns events, int at, ref long time)
    {
        for (int k = 0; k < Columns.Length; k++)
            if (!Columns[k].Decode(data + offsets[k], lengths[k], events, at, Count, ref time))
                return false;
        return true;
    }

    /// <summary>Decompresses into a buffer of its own (batches are decoded on two threads at once),
    /// decodes the columns from there and undoes their tighter coding.</summary>
    bool DecodeCompressed(byte* data, (long At, int Length, int PlainLength) compressed, EventColumns events, int at, ref long time)
    {
        var plain = ArrayPool<byte>.Shared.Rent(compressed.PlainLength);
        try
        {
            var batch = plain.AsSpan(0, compressed.PlainLength);
            if (!CompressedRecord.Decompress(new ReadOnlySpan<byte>(data + compressed.At, compressed.Length), batch.Length, batch))
                return false;
            var offsets = new long[Columns.Length];
            var lengths = new int[Columns.Length];
            if (!TryLocateColumns(batch, 0, offsets, lengths, out int count) || count != Count) return false;
            fixed (byte* start = batch)
                if (!DecodeColumns(start, offsets, lengths, events, at, ref time)) return false;
            EventBatchCodec.Loosen(events, at, Count);
            return true;
        }
        finally { ArrayPool<byte>.Shared.Return(plain); }
    }

    static int[] IndexFields()
    {
        var index = new int[Columns.Max(c => c.Field) + 1];
        Array.Fill(index, -1);
        for (int k = 0; k < Columns.Length; k++) index[Columns[k].Field] = k;
        return index;
    }

    static bool TryReadLength(ReadOnlySpan<byte> bytes, ref int pos, out int value)
    {
        ulong result = 0;
        value = 0;
        for (int shift = 0; shift < 35 && pos < bytes.Length; shift += 7)
        {
            byte b = bytes[pos++];
            result |= (ulong)(b & 0x7f) << shift;
            if (b >= 0x80) continue;
            if (result > int.MaxValue) return false;
            value = (int)result;
            return true;
        }
        return false;
    }
}
