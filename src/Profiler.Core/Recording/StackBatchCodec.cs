using System.Runtime.InteropServices;
using Google.Protobuf;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>
/// Format 4's stacks: the writer gathers them here and writes them as one CompressedStacks
/// record, coded as recording.proto's StackBatch describes, so that the frames a stack shares with
/// the stack before it (its callers, mostly) become zeros that Brotli all but removes. Not
/// thread-safe: the writer's thread owns it.
/// </summary>
sealed class StackBatchCodec
{
    /// <summary>Record.compressed_stacks, length-delimited.</summary>
    public const byte RecordTag = (15 << 3) | 2;

    const byte IdTag = (1 << 3) | 2, DepthTag = (2 << 3) | 2, TruncatedTag = (3 << 3) | 2, AddressTag = (4 << 3) | 2;

    readonly List<ulong> _ids = [];
    readonly List<uint> _depths = [];
    readonly List<bool> _truncated = [];
    readonly List<ulong> _codes = [];
    /// <summary>The stack before, from its outermost frame in.</summary>
    readonly List<ulong> _before = [];
    readonly List<ulong> _current = [];
    ulong _idBefore;
    byte[] _plain = [];

    public int Count => _ids.Count;

    public void Add(Stack stack)
    {
        _ids.Add(ZigZag(unchecked(stack.Id - _idBefore)));
        _idBefore = stack.Id;
        _depths.Add((uint)stack.Addresses.Count);
        _truncated.Add(stack.Truncated);
        _current.Clear();
        for (int i = stack.Addresses.Count - 1; i >= 0; i--) _current.Add(stack.Addresses[i]);
        var from = new Framing(_before);
        foreach (ulong frame in _current) _codes.Add(ZigZag(unchecked(frame - from.Next(frame))));
        _before.Clear();
        _before.AddRange(_current);
    }

    /// <summary>The record of the stacks added since the last one (there must be some), at the
    /// start of <paramref name="buffer"/>; the batch is empty afterwards.</summary>
    /// <returns>The record's length.</returns>
    public int Encode(ref byte[] buffer)
    {
        int most = 4 * (1 + 5) + 10 * _ids.Count + 5 * _depths.Count + _truncated.Count + 10 * _codes.Count;
        if (_plain.Length < most) _plain = new byte[Math.Max(most, _plain.Length * 2)];
        var plain = _plain.AsSpan();
        int length = 0;
        length += Packed(plain[length..], IdTag, _ids.Count, i => _ids[i]);
        length += Packed(plain[length..], DepthTag, _depths.Count, i => _depths[i]);
        length += Packed(plain[length..], TruncatedTag, _truncated.Count, i => _truncated[i] ? 1UL : 0UL);
        length += Packed(plain[length..], AddressTag, _codes.Count, i => _codes[i]);
        int record = CompressedRecord.Encode(RecordTag, _ids.Count, plain[..length], ref buffer);
        Clear();
        return record;
    }

    void Clear()
    {
        _ids.Clear();
        _depths.Clear();
        _truncated.Clear();
        _codes.Clear();
        _before.Clear();
        _idBefore = 0;
    }

    /// <summary>A packed field as protobuf writes it (nothing for no values).</summary>
    static int Packed(Span<byte> to, byte tag, int count, Func<int, ulong> value)
    {
        if (count == 0) return 0;
        int bytes = 0;
        for (int i = 0; i < count; i++) bytes += PackedVarints.Size(value(i));
        int at = 0;
        to[at++] = tag;
        at += PackedVarints.Write(to[at..], (ulong)bytes);
        for (int i = 0; i < count; i++) at += PackedVarints.Write(to[at..], value(i));
        return at;
    }

    /// <summary>Adds the stacks of a CompressedStacks record to <paramref name="stacks"/>, in the
    /// order written; false, adding none, when it does not decompress to a StackBatch of as many
    /// stacks as it says, each with its frames.</summary>
    public static bool DecodeInto(CompressedStacks record, RawStackTable stacks)
    {
        if (CompressedRecord.Decompress(record.Brotli, record.Length) is not { } plain) return false;
        var columns = new (int At, int Length)[ColumnCount + 1];
        if (!TryLocateColumns(plain, columns))
        {
            // Laid out otherwise than the writer lays it: as the generated parser reads it, laid out again.
            try { plain = StackBatch.Parser.ParseFrom(plain).ToByteArray(); }
            catch (InvalidProtocolBufferException) { return false; }
            if (!TryLocateColumns(plain, columns)) return false;
        }
        var ids = Column(plain, columns[1]);
        var depths = Column(plain, columns[2]);
        var truncated = Column(plain, columns[3]);
        var addresses = Column(plain, columns[4]);
        int count = CountVarints(ids);
        if (count != record.Count || CountVarints(depths) != count || CountVarints(truncated) != count) return false;
        long frames = 0;
        for (int at = 0, s = 0; s < count; s++) frames += (uint)PackedVarints.Read(depths, ref at);
        if (frames != CountVarints(addresses)) return false;

        var before = new List<ulong>();
        var current = new List<ulong>();
        ulong id = 0;
        int idAt = 0, depthAt = 0, truncatedAt = 0, addressAt = 0;
        for (int s = 0; s < count; s++)
        {
            id = unchecked(id + (ulong)TightCodes.UnZigZag(PackedVarints.Read(ids, ref idAt)));
            uint depth = (uint)PackedVarints.Read(depths, ref depthAt);
            current.Clear();
            var from = new Framing(before);
            for (uint i = 0; i < depth; i++)
            {
                ulong frame = unchecked(from.Reference + (ulong)TightCodes.UnZigZag(PackedVarints.Read(addresses, ref addressAt)));
                from.Next(frame);
                current.Add(frame);
            }
            stacks.Add(id, CollectionsMarshal.AsSpan(current), PackedVarints.Read(truncated, ref truncatedAt) != 0);
            (before, current) = (current, before);
        }
        return true;
    }

    const int ColumnCount = 4;

    /// <summary>Where each packed column (fields 1-4) lies, when each is there at most once and in
    /// field order, as the writer and the generated classes lay them out.</summary>
    static bool TryLocateColumns(ReadOnlySpan<byte> batch, (int At, int Length)[] columns)
    {
        int pos = 0, lastField = 0;
        while (pos < batch.Length)
        {
            int tag = batch[pos++];
            int field = tag >> 3;
            if ((tag & 7) != 2 || field <= lastField || field > ColumnCount) return false;
            lastField = field;
            ulong length = PackedVarints.Read(batch, ref pos);
            if (pos < 0 || length > (ulong)(batch.Length - pos)) return false;
            columns[field] = (pos, (int)length);
            pos += (int)length;
        }
        return true;
    }

    static ReadOnlySpan<byte> Column(byte[] batch, (int At, int Length) column) => batch.AsSpan(column.At, column.Length);

    /// <summary>The varints a packed column holds; -1 when its last one is cut or one is longer
    /// than ten bytes (which the protobuf parser refuses too).</summary>
    static int CountVarints(ReadOnlySpan<byte> column)
    {
        if (column.Length > 0 && column[^1] >= 0x80) return -1;
        int count = 0, run = 0;
        foreach (byte b in column)
        {
            if (++run > 10) return -1;
            if (b < 0x80) { count++; run = 0; }
        }
        return count;
    }

    /// <summary>What a stack's frame, from the outermost in, is coded against: the frame at the
    /// same depth of the stack before while the stack has matched it, else the frame before.</summary>
    struct Framing(List<ulong> before)
    {
        int _depth;
        bool _matching = true;
        ulong _previous;

        public readonly ulong Reference => _matching && _depth < before.Count ? before[_depth] : _previous;

        /// <summary>Moves past <paramref name="frame"/>; returns what it was coded against.</summary>
        public ulong Next(ulong frame)
        {
            ulong reference = Reference;
            _matching &= _depth < before.Count && frame == reference;
            _previous = frame;
            _depth++;
            return reference;
        }
    }

    static ulong ZigZag(ulong step) => TightCodes.ZigZag((long)step);
}
