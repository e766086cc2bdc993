using System.Collections;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Profiler.Core.Recording;

/// <summary>How a column's values travel in an EventBatch: as protobuf writes the field's type.</summary>
public enum ColumnWire
{
    /// <summary>A protobuf enum (int32): a negative value takes ten bytes, sign-extended.</summary>
    Int32,
    UInt32,
    UInt64,
    /// <summary>A time: each value is the unsigned step from the event before.</summary>
    TimeDelta,
}

delegate ref T[] ColumnArray<T>(EventColumns columns);

delegate T EventValue<T>(in RawEvent e);

/// <summary>
/// One event column as <see cref="EventColumns.Schema"/> describes it: its name, the EventBatch
/// field that carries it, its array in <see cref="EventColumns"/> and its member of
/// <see cref="RawEvent"/>. What is done to every column — growing, adding an event, permuting,
/// encoding, decoding — is written once, here, for any column.
/// </summary>
public abstract unsafe class EventColumn(string name, int fieldNumber, ColumnWire wire, TightCoding tight)
{
    /// <summary>The member's name in <see cref="RawEvent"/> and <see cref="EventColumns"/>.</summary>
    public string Name => name;

    /// <summary>The EventBatch field number.</summary>
    public int Field => fieldNumber;

    public ColumnWire Wire => wire;

    /// <summary>How the column is coded in a compressed batch.</summary>
    public TightCoding Tight => tight;

    public abstract Type Type { get; }

    internal abstract void Resize(EventColumns columns, int length);

    internal abstract void Set(EventColumns columns, int index, in RawEvent e);

    /// <summary>Gives <paramref name="to"/> this column of <paramref name="from"/>'s events at
    /// <paramref name="order"/>; null: the first <paramref name="count"/>, sharing the array when exact.</summary>
    internal abstract void Select(EventColumns from, int[]? order, int count, EventColumns to);

    /// <summary>The most bytes <see cref="Encode"/> writes for <paramref name="count"/> values.</summary>
    internal int MaxEncodedLength(int count) => PackedVarints.Size(Tag) + 5 + 10 * count;

    /// <summary>Writes the first <paramref name="count"/> values as protobuf writes a packed field:
    /// tag, length, varints; nothing when there are none.</summary>
    /// <param name="timeBefore">The time of the event before the first (times are deltas).</param>
    /// <returns>The bytes written.</returns>
    internal abstract int Encode(EventColumns from, int count, long timeBefore, Span<byte> to);

    /// <summary>Decodes a packed field's bytes into <paramref name="count"/> events from <paramref name="at"/>.</summary>
    /// <param name="time">The time before the first event; becomes the last one's (times only).</param>
    /// <returns>False unless the bytes are exactly <paramref name="count"/> varints.</returns>
    internal abstract bool Decode(byte* bytes, int length, EventColumns into, int at, int count, ref long time);

    /// <summary>Turns <paramref name="count"/> values from <paramref name="at"/> into their
    /// <see cref="Tight"/> coding, in place (<see cref="Loosen"/> undoes it).</summary>
    internal abstract void Tighten(EventColumns columns, int at, int count);

    /// <summary>Undoes <see cref="Tighten"/> in place, once every column of the events is decoded.</summary>
    internal abstract void Loosen(EventColumns columns, int at, int count);

    /// <summary>Takes the values of a batch the protobuf parser read (its field, boxed) from <paramref name="at"/>.</summary>
    internal abstract void Decode(IList parsed, EventColumns into, int at, ref long time);

    private protected ulong Tag => (ulong)(Field << 3 | 2); // length-delimited
}

sealed unsafe class EventColumn<T> : EventColumn where T : unmanaged
{
    readonly ColumnArray<T> _array;
    readonly EventValue<T> _value;

    public EventColumn(string name, int fieldNumber, ColumnWire wire, ColumnArray<T> array, EventValue<T> value, TightCoding tight = TightCoding.Plain)
        : base(name, fieldNumber, wire, tight)
    {
        if (tight != TightCoding.Plain && wire is not (ColumnWire.UInt32 or ColumnWire.UInt64))
            throw new InvalidOperationException($"event column {name}: only unsigned columns are coded as {tight}");
        // The codec reinterprets values by the wire type's width (an enum as its int, a time as its long).
        int width = wire is ColumnWire.UInt64 or ColumnWire.TimeDelta ? 8 : 4;
        if (Unsafe.SizeOf<T>() != width || (wire == ColumnWire.TimeDelta && typeof(T) != typeof(long)))
            throw new InvalidOperationException($"event column {name}: a {typeof(T).Name} cannot travel as {wire}");
        (_array, _value) = (array, value);
    }

    public override Type Type => typeof(T);

    internal override void Resize(EventColumns columns, int length) => Array.Resize(ref _array(columns), length);

    internal override void Set(EventColumns columns, int index, in RawEvent e) => _array(columns)[index] = _value(e);

    internal override void Select(EventColumns from, int[]? order, int count, EventColumns to)
    {
        var source = _array(from);
        if (order is null)
        {
            _array(to) = source.Length == count ? source : source[..count];
            return;
        }
        var result = new T[order.Length];
        for (int i = 0; i < order.Length; i++) result[i] = source[order[i]];
        _array(to) = result;
    }

    /// <remarks>Runs over every recorded event: one pass, the values written after room for the
    /// longest head (tag, length) and moved back once their length is known.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal override int Encode(EventColumns from, int count, long timeBefore, Span<byte> to)
    {
        if (count == 0) return 0;
        int head = PackedVarints.Size(Tag) + 5;
        if (to.Length < MaxEncodedLength(count)) throw new ArgumentException("too little room for the column", nameof(to));
        int length;
        fixed (T* values = _array(from))
        fixed (byte* start = to)
        {
            byte* p = start + head;
            switch (Wire)
            {
                case ColumnWire.Int32:
                    // Sign-extended, as protobuf writes enums.
                    for (int i = 0; i < count; i++) p = PackedVarints.Put(p, (ulong)(long)Unsafe.BitCast<T, int>(values[i]));
                    break;
                case ColumnWire.UInt32:
                    for (int i = 0; i < count; i++) p = PackedVarints.Put(p, Unsafe.BitCast<T, uint>(values[i]));
                    break;
                case ColumnWire.UInt64:
                    for (int i = 0; i < count; i++) p = PackedVarints.Put(p, Unsafe.BitCast<T, ulong>(values[i]));
                    break;
                default:
                    long time = timeBefore;
                    for (int i = 0; i < count; i++)
                    {
                        long t = Unsafe.BitCast<T, long>(values[i]);
                        p = PackedVarints.Put(p, (ulong)(t - time));
                        time = t;
                    }
                    break;
            }
            length = (int)(p - (start + head));
        }
        int at = PackedVarints.Write(to, Tag);
        at += PackedVarints.Write(to[at..], (ulong)length);
        to.Slice(head, length).CopyTo(to[at..]);
        return at + length;
    }

    internal override bool Decode(byte* bytes, int length, EventColumns into, int at, int count, ref long time)
    {
        if (count == 0) return length == 0;
        fixed (T* to = &_array(into)[at])
        {
            switch (Wire)
            {
                case ColumnWire.Int32: return PackedVarints.Read(bytes, length, count, new PackedVarints.Int32Sink((int*)to));
                case ColumnWire.UInt32: return PackedVarints.Read(bytes, length, count, new PackedVarints.UInt32Sink((uint*)to));
                case ColumnWire.UInt64: return PackedVarints.Read(bytes, length, count, new PackedVarints.UInt64Sink((ulong*)to));
                default:
                    long last = time;
                    bool ok = PackedVarints.Read(bytes, length, count, new PackedVarints.TimeSink((long*)to, &last));
                    time = last;
                    return ok;
            }
        }
    }

    internal override void Tighten(EventColumns columns, int at, int count) => Code(columns, at, count, tighten: true);

    internal override void Loosen(EventColumns columns, int at, int count) => Code(columns, at, count, tighten: false);

    void Code(EventColumns columns, int at, int count, bool tighten)
    {
        if (Tight == TightCoding.Plain || count == 0) return;
        var values = _array(columns).AsSpan(at, count);
        if (Wire == ColumnWire.UInt32)
        {
            var u = MemoryMarshal.Cast<T, uint>(values);
            if (tighten) TightCodes.ToSteps(u); else TightCodes.FromSteps(u);
            return;
        }
        var w = MemoryMarshal.Cast<T, ulong>(values);
        if (Tight == TightCoding.Delta)
        {
            if (tighten) TightCodes.ToSteps(w); else TightCodes.FromSteps(w);
        }
        else if (tighten) TightCodes.ToDifferences(w, columns.Size.AsSpan(at, count));
        else TightCodes.FromDifferences(w, columns.Size.AsSpan(at, count));
    }

    internal override void Decode(IList parsed, EventColumns into, int at, ref long time)
    {
        if (parsed.Count == 0) return;
        fixed (T* to = &_array(into)[at])
        {
            switch (Wire)
            {
                case ColumnWire.Int32: Feed(parsed, new PackedVarints.Int32Sink((int*)to)); break;
                case ColumnWire.UInt32: Feed(parsed, new PackedVarints.UInt32Sink((uint*)to)); break;
                case ColumnWire.UInt64: Feed(parsed, new PackedVarints.UInt64Sink((ulong*)to)); break;
                default:
                    long last = time;
                    Feed(parsed, new PackedVarints.TimeSink((long*)to, &last));
                    time = last;
                    break;
            }
        }
    }

    /// <summary>The parsed values as their varints carried them, into the sinks the bytes go to, so
    /// both readers convert alike. Only enums are taken boxed (a boxed protobuf enum unboxes as its int).</summary>
    void Feed<TSink>(IList parsed, TSink sink) where TSink : struct, PackedVarints.ISink
    {
        switch (parsed)
        {
            case IReadOnlyList<ulong> values:
                for (int i = 0; i < values.Count; i++) sink.Put(i, values[i]);
                break;
            case IReadOnlyList<uint> values:
                for (int i = 0; i < values.Count; i++) sink.Put(i, values[i]);
                break;
            default:
                for (int i = 0; i < parsed.Count; i++) sink.Put(i, (ulong)(long)(int)parsed[i]!);
                break;
        }
    }
}
