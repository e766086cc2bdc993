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

    public int Frames => _codes.Count;

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

    /// <summary>The stacks of a CompressedStacks record, in the order written; null when it does
    /// not decompress to a StackBatch of as many stacks as it says, each with its frames.</summary>
    public static List<Stack>? Decode(CompressedStacks record)
    {
        if (CompressedRecord.Decompress(record.Brotli, record.Length) is not { } plain) return null;
        StackBatch batch;
        try { batch = StackBatch.Parser.ParseFrom(plain); }
        catch (InvalidProtocolBufferException) { return null; }
        int count = batch.Id.Count;
        if (count != record.Count || batch.Depth.Count != count || batch.Truncated.Count != count) return null;
        long frames = 0;
        foreach (uint depth in batch.Depth) frames += depth;
        if (frames != batch.Address.Count) return null;

        var stacks = new List<Stack>(count);
        var before = new List<ulong>();
        var current = new List<ulong>();
        ulong id = 0;
        int code = 0;
        for (int s = 0; s < count; s++)
        {
            id = unchecked(id + (ulong)UnZigZag(batch.Id[s]));
            current.Clear();
            var from = new Framing(before);
            for (int i = 0; i < batch.Depth[s]; i++)
            {
                ulong step = (ulong)UnZigZag(batch.Address[code++]);
                ulong reference = from.Reference;
                ulong frame = unchecked(reference + step);
                from.Next(frame);
                current.Add(frame);
            }
            var stack = new Stack { Id = id, Truncated = batch.Truncated[s] };
            for (int i = current.Count - 1; i >= 0; i--) stack.Addresses.Add(current[i]);
            stacks.Add(stack);
            (before, current) = (current, before);
        }
        return stacks;
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

    static ulong ZigZag(ulong step) => (ulong)(((long)step << 1) ^ ((long)step >> 63));

    static long UnZigZag(ulong z) => (long)(z >> 1) ^ -(long)(z & 1);
}
