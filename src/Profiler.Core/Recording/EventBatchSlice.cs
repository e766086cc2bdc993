using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>
/// One event batch waiting to be decoded: where its nine packed columns lie in the recording's
/// bytes, or a batch the protobuf parser already read (one with an unusual encoding). Decoding
/// accepts exactly what the protobuf parser would read the same way and reports anything else,
/// which sends the whole recording to the reference reader.
/// </summary>
sealed unsafe class EventBatchSlice
{
    const int Columns = 9;
    const byte EventsTag = (5 << 3) | 2; // Record.events, length-delimited

    readonly long[] _offsets = new long[Columns];
    readonly int[] _lengths = new int[Columns];
    readonly EventBatch? _parsed;

    EventBatchSlice(int count, EventBatch? parsed) => (Count, _parsed) = (count, parsed);

    public int Count { get; }

    /// <summary>A record that is exactly one event batch whose columns are all packed, each at most
    /// once and in field order, as the writer lays them out; null for anything else.</summary>
    /// <param name="bodyStart">Where <paramref name="body"/> starts in the recording.</param>
    public static EventBatchSlice? TryLocate(ReadOnlySpan<byte> body, long bodyStart)
    {
        if (body.Length < 2 || body[0] != EventsTag) return null;
        int pos = 1;
        if (!TryReadLength(body, ref pos, out int batchLength) || batchLength != body.Length - pos) return null;
        var offsets = new long[Columns];
        var lengths = new int[Columns];
        int lastField = 0;
        while (pos < body.Length)
        {
            int tag = body[pos++];
            int field = tag >> 3;
            // Tags of fields 1-9 are single bytes; a repeated, unknown or unpacked field is not ours.
            if ((tag & 7) != 2 || field <= lastField || field > Columns) return null;
            lastField = field;
            if (!TryReadLength(body, ref pos, out int length) || length > body.Length - pos) return null;
            offsets[field - 1] = bodyStart + pos;
            lengths[field - 1] = length;
            pos += length;
        }
        var kinds = body.Slice((int)(offsets[0] - bodyStart), lengths[0]);
        if (kinds.Length > 0 && kinds[^1] >= 0x80) return null;
        // One varint ends at each byte below 0x80; event kinds are almost always single bytes.
        int count = kinds.Length;
        if (kinds.IndexOfAnyInRange((byte)0x80, (byte)0xff) >= 0)
            foreach (byte b in kinds)
                if (b >= 0x80) count--;
        var slice = new EventBatchSlice(count, null);
        offsets.CopyTo(slice._offsets, 0);
        lengths.CopyTo(slice._lengths, 0);
        return slice;
    }

    /// <summary>A batch the protobuf parser read; null when its columns differ in length.</summary>
    public static EventBatchSlice? Parsed(EventBatch batch)
    {
        int n = batch.Kind.Count;
        if (batch.TimeDeltaNanos.Count != n || batch.Pid.Count != n || batch.Tid.Count != n ||
            batch.Address.Count != n || batch.Size.Count != n || batch.Weight.Count != n ||
            batch.StackId.Count != n || batch.Function.Count != n)
            return null;
        return new EventBatchSlice(n, batch);
    }

    /// <summary>Writes the batch's events at <paramref name="at"/>; <paramref name="time"/> is the
    /// time of the event before them and becomes that of the last one.</summary>
    /// <returns>False when a column is malformed or holds a different number of values.</returns>
    public bool DecodeInto(byte* data, EventColumns events, int at, ref long time)
    {
        if (_parsed is { } batch)
        {
            for (int i = 0; i < Count; i++)
            {
                time += (long)batch.TimeDeltaNanos[i];
                int e = at + i;
                (events.Kind[e], events.TimeNanos[e], events.Pid[e], events.Tid[e]) = (batch.Kind[i], time, batch.Pid[i], batch.Tid[i]);
                (events.Address[e], events.Size[e], events.Weight[e]) = (batch.Address[i], batch.Size[i], batch.Weight[i]);
                (events.StackId[e], events.Function[e]) = (batch.StackId[i], batch.Function[i]);
            }
            return true;
        }
        if (Count == 0)
        {
            foreach (int length in _lengths)
                if (length != 0) return false;
            return true;
        }
        fixed (EventKind* kind = &events.Kind[at])
        fixed (long* times = &events.TimeNanos[at])
        fixed (uint* pid = &events.Pid[at])
        fixed (uint* tid = &events.Tid[at])
        fixed (ulong* address = &events.Address[at])
        fixed (ulong* size = &events.Size[at])
        fixed (ulong* weight = &events.Weight[at])
        fixed (ulong* stack = &events.StackId[at])
        fixed (AllocFunction* function = &events.Function[at])
        {
            long last = time;
            bool ok =
                Decode(data, 0, new Int32Sink((int*)kind)) &&
                Decode(data, 1, new TimeSink(times, &last)) &&
                Decode(data, 2, new UInt32Sink(pid)) &&
                Decode(data, 3, new UInt32Sink(tid)) &&
                Decode(data, 4, new UInt64Sink(address)) &&
                Decode(data, 5, new UInt64Sink(size)) &&
                Decode(data, 6, new UInt64Sink(weight)) &&
                Decode(data, 7, new UInt64Sink(stack)) &&
                Decode(data, 8, new Int32Sink((int*)function));
            time = last;
            return ok;
        }
    }

    /// <summary>Decodes exactly <see cref="Count"/> varints filling the column's bytes exactly.</summary>
    bool Decode<TSink>(byte* data, int column, TSink sink) where TSink : struct, IVarintSink
    {
        byte* p = data + _offsets[column];
        byte* end = p + _lengths[column];
        int n = Count;
        for (int i = 0; i < n; i++)
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

    interface IVarintSink
    {
        void Put(int i, ulong value);
    }

    readonly struct UInt64Sink(ulong* to) : IVarintSink
    {
        public void Put(int i, ulong value) => to[i] = value;
    }

    readonly struct UInt32Sink(uint* to) : IVarintSink
    {
        public void Put(int i, ulong value) => to[i] = (uint)value;
    }

    /// <summary>Enums are int32 on the wire.</summary>
    readonly struct Int32Sink(int* to) : IVarintSink
    {
        public void Put(int i, ulong value) => to[i] = (int)value;
    }

    /// <summary>Delta-encoded times: each value is added to the running time.</summary>
    readonly struct TimeSink(long* to, long* time) : IVarintSink
    {
        public void Put(int i, ulong value) => to[i] = *time += (long)value;
    }
}
