namespace Profiler.Core.Recording;

/// <summary>Events, one array per column, in recording order.</summary>
/// <remarks>
/// <see cref="Schema"/> is the one list of the event columns: the writer, both readers and the
/// model's permutation go through it. Adding a column is a member of <see cref="RawEvent"/>, an
/// array here with its line in the schema (and in the indexer, which the compiler checks), the
/// EventBatch field in recording.proto and, for analyses to read it, a property of
/// <see cref="Model.AllocationTable"/>; the event schema tests fail until all of them agree.
/// </remarks>
public sealed class EventColumns
{
    public EventKind[] Kind = [];
    public long[] TimeNanos = [];
    public uint[] Pid = [];
    public uint[] Tid = [];
    public ulong[] Address = [];
    public ulong[] Size = [];
    public ulong[] Weight = [];
    public ulong[] StackId = [];
    public AllocFunction[] Function = [];

    /// <summary>The columns in EventBatch field order.</summary>
    public static IReadOnlyList<EventColumn> Columns => Schema;

    internal static readonly EventColumn[] Schema =
    [
        new EventColumn<EventKind>(nameof(Kind), 1, ColumnWire.Int32, c => ref c.Kind, (in e) => e.Kind),
        new EventColumn<long>(nameof(TimeNanos), 2, ColumnWire.TimeDelta, c => ref c.TimeNanos, (in e) => e.TimeNanos),
        new EventColumn<uint>(nameof(Pid), 3, ColumnWire.UInt32, c => ref c.Pid, (in e) => e.Pid, TightCoding.Delta),
        new EventColumn<uint>(nameof(Tid), 4, ColumnWire.UInt32, c => ref c.Tid, (in e) => e.Tid, TightCoding.Delta),
        new EventColumn<ulong>(nameof(Address), 5, ColumnWire.UInt64, c => ref c.Address, (in e) => e.Address, TightCoding.Delta),
        new EventColumn<ulong>(nameof(Size), 6, ColumnWire.UInt64, c => ref c.Size, (in e) => e.Size),
        new EventColumn<ulong>(nameof(Weight), 7, ColumnWire.UInt64, c => ref c.Weight, (in e) => e.Weight, TightCoding.FromSize),
        new EventColumn<ulong>(nameof(StackId), 8, ColumnWire.UInt64, c => ref c.StackId, (in e) => e.StackId),
        new EventColumn<AllocFunction>(nameof(Function), 9, ColumnWire.Int32, c => ref c.Function, (in e) => e.Function),
    ];

    int _capacity;

    public int Count { get; private set; }

    public RawEvent this[int i] => new(Kind[i], TimeNanos[i], Pid[i], Tid[i], Address[i], Size[i], Weight[i], StackId[i], Function[i]);

    /// <summary>Runs once per recorded event, so it writes each array itself rather than through
    /// the schema's delegates (a column missing here reads back as zero: the round-trip tests fail).</summary>
    public void Add(in RawEvent e)
    {
        if (Count == _capacity) Grow(Count + 1);
        Set(Count, e);
        Count++;
    }

    /// <summary>Writes event <paramref name="i"/> (below <see cref="Count"/>), as <see cref="Add"/> writes a new one.</summary>
    public void Set(int i, in RawEvent e)
    {
        Kind[i] = e.Kind;
        TimeNanos[i] = e.TimeNanos;
        Pid[i] = e.Pid;
        Tid[i] = e.Tid;
        Address[i] = e.Address;
        Size[i] = e.Size;
        Weight[i] = e.Weight;
        StackId[i] = e.StackId;
        Function[i] = e.Function;
    }

    /// <summary>Makes room for <paramref name="count"/> more events, for a reader to fill in place.</summary>
    /// <returns>The index of the first.</returns>
    internal int Extend(int count)
    {
        int at = Count;
        if (at + count > _capacity) Grow(at + count);
        Count += count;
        return at;
    }

    /// <summary>Forgets the events but keeps the arrays, to be filled again.</summary>
    public void Clear() => Count = 0;

    /// <summary>Shrinks the columns to <see cref="Count"/>, so each array holds exactly the events.</summary>
    public void TrimExcess() => Resize(Count);

    /// <summary>Columns of exactly <paramref name="count"/> events, zero, for a reader to fill in place.</summary>
    public static EventColumns OfLength(int count)
    {
        var columns = new EventColumns();
        columns.Resize(count);
        columns.Count = count;
        return columns;
    }

    /// <summary>The events at <paramref name="order"/>, in that order, in arrays of exactly their
    /// number; null: every event in recording order (then the arrays are shared when exact).</summary>
    public EventColumns Select(int[]? order)
    {
        var selected = new EventColumns();
        foreach (var column in Schema) column.Select(this, order, Count, selected);
        selected.Count = selected._capacity = order?.Length ?? Count;
        return selected;
    }

    void Grow(int needed) => Resize(Math.Max(needed, (int)Math.Min(Array.MaxLength, Math.Max(1024L, 2L * _capacity))));

    void Resize(int capacity)
    {
        foreach (var column in Schema) column.Resize(this, capacity);
        _capacity = capacity;
    }
}
