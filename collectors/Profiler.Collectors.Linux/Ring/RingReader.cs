using System.Buffers.Binary;

namespace Profiler.Collectors.Linux.Ring;

/// <summary>What one pass over a ring found.</summary>
/// <param name="ReadPosition">Where the next pass starts (bytes ever consumed).</param>
/// <param name="Records">Events handed on.</param>
/// <param name="DamagedBytes">Bytes skipped because they held no well-formed record.</param>
public readonly record struct RingPass(ulong ReadPosition, int Records, ulong DamagedBytes);

/// <summary>Reads the records one writer published into its ring, between what was consumed and
/// what the writer published. Pure: the ring is a span, positions are counts of bytes ever
/// written, so the offset in the ring is the position modulo its (power-of-two) size.</summary>
public static class RingReader
{
    /// <param name="ring">The ring's bytes.</param>
    /// <param name="readPosition">Bytes consumed so far.</param>
    /// <param name="writePosition">Bytes the writer has published (whole records only).</param>
    /// <param name="sink">Gets each event (the record without its prefix).</param>
    public static RingPass Drain(ReadOnlySpan<byte> ring, ulong readPosition, ulong writePosition, Bpf.BpfEventSink sink)
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
            // A record is whole, aligned and never crosses the ring's end; a pad runs exactly to it.
            bool wellFormed = length >= RingLayout.PrefixBytes && length % 8 == 0 && length <= available && offset + length <= capacity &&
                              (kind == RingLayout.RecordEvent || (kind == RingLayout.RecordPad && offset + length == capacity));
            if (!wellFormed)
                return new RingPass(writePosition, records, writePosition - position);
            if (kind == RingLayout.RecordEvent)
            {
                sink(ring.Slice((int)offset + RingLayout.PrefixBytes, (int)length - RingLayout.PrefixBytes));
                records++;
            }
            position += length;
        }
        return new RingPass(position, records, 0);
    }
}
