using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Profiler.Collectors.Linux.Ring;

/// <summary>What one pass over a ring found.</summary>
/// <param name="ReadPosition">Where the next pass starts (bytes ever consumed).</param>
/// <param name="Records">Events taken.</param>
/// <param name="DamagedBytes">Bytes skipped because they held no well-formed record.</param>
public readonly record struct RingPass(ulong ReadPosition, int Records, ulong DamagedBytes);

/// <summary>An event in a ring: its time (the event's first field), which ring, where its body is.</summary>
public readonly record struct RingRecord(ulong TimeNanos, int Ring, int Offset, int Length);

/// <summary>What <see cref="RingReader.Next"/> found at a position.</summary>
public enum RingStep
{
    /// <summary>An event to hand on; the position is past it (and past any pad before it).</summary>
    Event,
    /// <summary>Nothing more for this pass: the writer's position, or an event stamped too late (which stays).</summary>
    End,
    /// <summary>No well-formed record: everything up to the writer's position is skipped.</summary>
    Damaged,
}

/// <summary>Reads the records one writer published into its ring, between what was consumed and
/// what the writer published. Pure: the ring is a span, positions are counts of bytes ever
/// written, so the offset in the ring is the position modulo its (power-of-two) size.</summary>
public static class RingReader
{
    /// <summary>Whether a writer could have published <paramref name="writePosition"/> with
    /// <paramref name="readPosition"/> consumed: never more than the ring holds, never behind the reader.</summary>
    public static bool Publishable(ulong capacity, ulong readPosition, ulong writePosition) =>
        writePosition >= readPosition && writePosition - readPosition <= capacity && capacity != 0 && (capacity & (capacity - 1)) == 0;

    /// <summary>The next event from <paramref name="position"/>, which it moves past the event (or
    /// past the pads before what ends the pass, or before the damaged record). The positions must be
    /// <see cref="Publishable"/>.</summary>
    /// <param name="beforeNanos">Only events stamped earlier are taken: a writer's events are in
    /// time order, so the first later one ends the pass and stays for the next.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per event
    public static RingStep Next(ReadOnlySpan<byte> ring, ref ulong position, ulong writePosition, ulong beforeNanos, int ringIndex,
        out RingRecord record)
    {
        record = default;
        ulong capacity = (ulong)ring.Length;
        while (position < writePosition)
        {
            ulong offset = position & (capacity - 1);
            ulong available = writePosition - position;
            if (available < RingLayout.PrefixBytes) return RingStep.Damaged;
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(ring[(int)offset..]);
            uint kind = BinaryPrimitives.ReadUInt32LittleEndian(ring[((int)offset + 4)..]);
            // A record is whole, aligned and never crosses the ring's end; a pad runs exactly to it;
            // an event holds at least its time.
            bool wellFormed = length >= RingLayout.PrefixBytes && length % 8 == 0 && length <= available && offset + length <= capacity &&
                              (kind == RingLayout.RecordEvent && length >= RingLayout.PrefixBytes + 8 ||
                               kind == RingLayout.RecordPad && offset + length == capacity);
            if (!wellFormed) return RingStep.Damaged;
            if (kind == RingLayout.RecordEvent)
            {
                ulong time = BinaryPrimitives.ReadUInt64LittleEndian(ring[((int)offset + RingLayout.PrefixBytes)..]);
                if (time >= beforeNanos) return RingStep.End;
                record = new RingRecord(time, ringIndex, (int)offset + RingLayout.PrefixBytes, (int)length - RingLayout.PrefixBytes);
                position += length;
                return RingStep.Event;
            }
            position += length;
        }
        return RingStep.End;
    }

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
        if (!Publishable((ulong)ring.Length, readPosition, writePosition))
            return new RingPass(writePosition, 0, writePosition >= readPosition ? writePosition - readPosition : 0);
        ulong position = readPosition;
        int records = 0;
        while (true)
        {
            switch (Next(ring, ref position, writePosition, beforeNanos, ringIndex, out var record))
            {
                case RingStep.Event:
                    taken.Add(record);
                    records++;
                    continue;
                case RingStep.Damaged:
                    return new RingPass(writePosition, records, writePosition - position);
                default:
                    return new RingPass(position, records, 0);
            }
        }
    }
}
