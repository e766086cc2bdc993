using System.Buffers;
using System.Buffers.Binary;

namespace Profiler.Collectors.Linux.Ring;

/// <summary>The kernel's records of one poll, held so that a pass over the shared rings can hand
/// them on in one time order with the rings' events (a process's exit after its last frees, a
/// child's fork before its first allocation). Every record's first field is its CLOCK_MONOTONIC
/// time, as the rings' events; the kernel's buffer is in reservation order, which CPUs may
/// interleave slightly out of time order, so the queue is put in time order (ties: as read).
/// A marker's record carries a stack copy of up to 64 KiB: the copies live in pooled buffers.</summary>
public sealed class KernelRecordQueue
{
    readonly List<(ulong Time, int Order, byte[] Buffer, int Length)> _records = [];
    int _next;
    bool _sorted = true;

    public int Count => _records.Count - _next;

    /// <summary>Copies a record (the kernel's buffer is reused once the callback returns).</summary>
    public void Add(ReadOnlySpan<byte> record)
    {
        ulong time = record.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(record) : 0;
        var buffer = ArrayPool<byte>.Shared.Rent(record.Length);
        record.CopyTo(buffer);
        Append(time, buffer, record.Length);
    }

    void Append(ulong time, byte[] buffer, int length)
    {
        if (_records.Count > _next && time < _records[^1].Time) _sorted = false;
        _records.Add((time, _records.Count, buffer, length));
    }

    readonly List<(ulong Time, byte[] Buffer, int Length)> _later = [];

    /// <summary>Copies a record read while a pass is handing records on: it joins the queue at
    /// the next <see cref="AdmitLater"/>, so the pass's order is not disturbed. A pass that
    /// unwinds many markers' stack copies is slow; the kernel's buffer is emptied meanwhile
    /// rather than left to overflow.</summary>
    public void AddLater(ReadOnlySpan<byte> record)
    {
        ulong time = record.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(record) : 0;
        var buffer = ArrayPool<byte>.Shared.Rent(record.Length);
        record.CopyTo(buffer);
        _later.Add((time, buffer, record.Length));
    }

    /// <summary>Queues the records read during the last pass, ahead of any read after; returns how many.</summary>
    public int AdmitLater()
    {
        foreach (var (time, buffer, length) in _later) Append(time, buffer, length);
        int admitted = _later.Count;
        _later.Clear();
        return admitted;
    }

    /// <summary>Hands on the records stamped at or before <paramref name="time"/>; returns how many.</summary>
    public int HandUpTo(ulong time, Bpf.BpfEventSink sink)
    {
        if (!_sorted) Sort();
        int handed = 0;
        while (_next < _records.Count && _records[_next].Time <= time)
        {
            var (_, _, buffer, length) = _records[_next++];
            try { sink(buffer.AsSpan(0, length)); }
            finally { ArrayPool<byte>.Shared.Return(buffer); }
            handed++;
        }
        if (_next == _records.Count) Clear();
        return handed;
    }

    /// <summary>Hands on every record held; returns how many.</summary>
    public int HandAll(Bpf.BpfEventSink sink) => HandUpTo(ulong.MaxValue, sink);

    void Sort()
    {
        _records.Sort(_next, _records.Count - _next, TimeThenOrder);
        _sorted = true;
    }

    static readonly Comparer<(ulong Time, int Order, byte[] Buffer, int Length)> TimeThenOrder = Comparer<(ulong Time, int Order, byte[] Buffer, int Length)>.Create(
        (a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Order.CompareTo(b.Order));

    void Clear()
    {
        _records.Clear();
        _next = 0;
        _sorted = true;
    }
}
