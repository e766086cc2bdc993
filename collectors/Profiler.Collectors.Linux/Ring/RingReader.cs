using System.Buffers.Binary;

namespace Profiler.Collectors.Linux.Ring;

/// <summary>What one pass over a ring found.</summary>
/// <param name="ReadPosition">Where the next pass starts (bytes ever consumed).</param>
/// <param name="Records">Events taken.</param>
/// <param name="DamagedBytes">Bytes skipped because they held no well-formed record.</param>
public readonly record struct RingPass(ulong ReadPosition, int Records, ulong DamagedBytes);

/// <summary>An event in a ring: its time (the event's first field), which ring, where its body is.</summary>
public readonly record struct RingRecord(ulong TimeNanos, int Ring, int Offset, int Length);

/// <summary>Reads the records one writer published into its ring, between what was consumed and
/// what the writer published. Pure: the ring is a span, positions are counts of bytes ever
/// written, so the offset in the ring is the position modulo its (power-of-two) size.</summary>
public static class RingReader
{
    /// <param name="ring">The ring's bytes.</param>
    /// <param name="ringIndex">Put into each record taken.</param>
    /// <param name="readPosition">Bytes consumed so far.</param>
    /// <param name="writePosition">Bytes the writer has published (whole records only).</param>
    /// <param name="beforeNanos">Only events stamped earlier are taken; the pass stops at the first
    /// later one (a writer's events are in time order), which stays for the next pass.</param>
    /// <param name="taken">Gets each event taken (its body: the record without its prefix).</param>
    public static RingPass Scan(ReadOnlySpan<byte> ring, int ringIndex, ulong readPosition, ulong writePosition, ulong beforeNanos,
        List<RingRecord> taken)
    {
        ulong capacity = (ulong)ring.Length;
        ulong position = readPosition;
        int records = 0;
        // A writer never publishes more than the ring holds; anything else is not a position.
        if (writePosition < readPosition || writePosition - readPosition > capacity || capacity == 0 || (capacity & (capacity - 1)) != 0)
            return new RingPass(writePosition, 0, writePosition >= readPosition ? writePosition - readPosition : 0);
        while (position < writePosition)
        {
            ulong offset = position & (capacity - 1);
            ulong available = writePosition - position;
            uint length = available >= RingLayout.PrefixBytes ? BinaryPrimitives.ReadUInt32LittleEndian(ring[(int)offset..]) : 0;
            uint kind = available >= RingLayout.PrefixBytes ? BinaryPrimitives.ReadUInt32LittleEndian(ring[((int)offset + 4)..]) : 0;
            // A record is whole, aligned and never crosses the ring's end; a pad runs exactly to it;
            // an event holds at least its time.
            bool wellFormed = length >= RingLayout.PrefixBytes && length % 8 == 0 && length <= available && offset + length <= capacity &&
                              (kind == RingLayout.RecordEvent && length >= RingLayout.PrefixBytes + 8 ||
                               kind == RingLayout.RecordPad && offset + length == capacity);
            if (!wellFormed)
                return new RingPass(writePosition, records, writePosition - position);
            if (kind == RingLayout.RecordEvent)
            {
                ulong time = BinaryPrimitives.ReadUInt64LittleEndian(ring[((int)offset + RingLayout.PrefixBytes)..]);
                if (time >= beforeNanos) break;
                taken.Add(new RingRecord(time, ringIndex, (int)offset + RingLayout.PrefixBytes, (int)length - RingLayout.PrefixBytes));
                records++;
            }
            position += length;
        }
        return new RingPass(position, records, 0);
    }
}
