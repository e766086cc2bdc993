using System.Buffers.Binary;

namespace Profiler.Core.Recording;

/// <summary>
/// Walks format 2's records (<see cref="RecordFraming"/>) over a recording's bytes. A record that
/// fails its check is skipped up to the next intact record, found by its sync bytes, and counted
/// as damaged with a warning; a record the file ends inside of is a cut tail, as in format 1.
/// </summary>
sealed unsafe class CheckedFrames(byte* data, long length, long displayOffset, string name, RecordCollector records)
{
    const int MaxWarnings = 5;
    long _position;
    int _damageWarnings;

    /// <summary>Whether the records after a header ending at <paramref name="headerEnd"/> are in
    /// format 2's framing: its version says so, or a sync follows the header's CRC (so a damaged
    /// version field cannot make a format-2 file read as format 1, unchecked).</summary>
    public static bool Follow(byte* data, long length, long headerEnd, uint version)
    {
        if (version >= RecordFraming.CheckedVersion) return true;
        long sync = headerEnd + RecordFraming.CrcLength;
        return length - sync >= RecordFraming.Sync.Length &&
               new ReadOnlySpan<byte>(data + sync, RecordFraming.Sync.Length).SequenceEqual(RecordFraming.Sync);
    }

    /// <summary>Checks the header's CRC (after its body, over its length and body); false when it
    /// does not match. Then walking starts after it.</summary>
    public bool CheckHeader(long headerStart, long headerEnd, out bool cut)
    {
        cut = length - headerEnd < RecordFraming.CrcLength;
        if (cut) return false;
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(data + headerEnd, RecordFraming.CrcLength));
        _position = headerEnd + RecordFraming.CrcLength;
        return stored == RecordFraming.Crc32C(Span(headerStart, headerEnd - headerStart));
    }

    /// <summary>The next intact record's body; false at the end of the bytes.</summary>
    public bool Next(out long bodyStart, out int bodyLength)
    {
        while (_position < length)
        {
            var frame = TryFrame(_position);
            if (frame.Intact)
            {
                (bodyStart, bodyLength) = (frame.BodyStart, frame.BodyLength);
                _position = frame.End;
                return true;
            }
            long next = FindIntactFrame(_position + 1);
            if (next < 0)
            {
                if (frame.PastEnd)
                {
                    records.Warnings.Add($"{name}: the recording ends in the middle of a record at byte {displayOffset + _position}" +
                                         " (the recorder was probably stopped abruptly); reading what came before it");
                    records.CutShort = true;
                }
                else Damage(_position, length);
                _position = length;
                break;
            }
            Damage(_position, next);
            _position = next;
        }
        (bodyStart, bodyLength) = (0, 0);
        return false;
    }

    void Damage(long from, long to)
    {
        records.Damaged(to - from);
        if (_damageWarnings++ < MaxWarnings)
            records.Warnings.Add($"{name}: {to - from:N0} damaged bytes at byte {displayOffset + from} failed their integrity check and were skipped; " +
                                 "figures may lack what they held");
        else if (_damageWarnings == MaxWarnings + 1)
            records.Warnings.Add($"{name}: more damaged records were skipped (the count is in the verdict)");
    }

    readonly record struct Frame(bool Intact, bool PastEnd, long BodyStart, int BodyLength, long End);

    Frame TryFrame(long at)
    {
        var sync = RecordFraming.Sync;
        long p = at + sync.Length;
        if (p > length) return new Frame(false, true, 0, 0, 0);
        if (!Span(at, sync.Length).SequenceEqual(sync)) return default;
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (p >= length) return new Frame(false, true, 0, 0, 0);
            if (shift > 28) return default;
            byte b = data[p++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) break;
        }
        if (value > int.MaxValue) return default;
        long end = p + (long)value + RecordFraming.CrcLength;
        if (end > length) return new Frame(false, true, 0, 0, 0);
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(Span(end - RecordFraming.CrcLength, RecordFraming.CrcLength));
        long checkedStart = at + sync.Length;
        bool intact = stored == RecordFraming.Crc32C(Span(checkedStart, end - RecordFraming.CrcLength - checkedStart));
        return new Frame(intact, false, p, (int)value, end);
    }

    /// <summary>The first intact record at or after <paramref name="from"/>; -1 if none.</summary>
    long FindIntactFrame(long from)
    {
        var sync = RecordFraming.Sync;
        const int Window = 1 << 30;
        for (long start = from; start < length; )
        {
            int span = (int)Math.Min(Window, length - start);
            int hit = Span(start, span).IndexOf(sync);
            if (hit < 0)
            {
                if (start + span >= length) return -1;
                start += span - (sync.Length - 1);
                continue;
            }
            long candidate = start + hit;
            if (TryFrame(candidate).Intact) return candidate;
            start = candidate + 1;
        }
        return -1;
    }

    ReadOnlySpan<byte> Span(long at, long count) => new(data + at, checked((int)count));
}
