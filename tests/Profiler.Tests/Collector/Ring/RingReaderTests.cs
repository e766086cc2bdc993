using System.Buffers.Binary;
using Profiler.Collectors.Linux.Ring;

namespace Profiler.Tests.Collector.Ring;

/// <summary>The shared rings' reader over hand-made ring bytes: records in order, a pad to the
/// ring's end and the wrap to its start, and damaged or partial records skipped and counted —
/// never read past what the writer published.</summary>
public sealed class RingReaderTests
{
    const int Capacity = 256;

    /// <summary>Writes records as the library does (length, kind, body) from a position; returns the position after.</summary>
    static ulong Put(byte[] ring, ulong position, uint kind, byte[] body, uint? length = null)
    {
        uint whole = length ?? (uint)((RingLayout.PrefixBytes + body.Length + 7) & ~7);
        int at = (int)(position & (Capacity - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(ring.AsSpan(at), whole);
        BinaryPrimitives.WriteUInt32LittleEndian(ring.AsSpan(at + 4), kind);
        body.CopyTo(ring.AsSpan(at + RingLayout.PrefixBytes));
        return position + whole;
    }

    static byte[] Body(byte tag, int length) => Enumerable.Repeat(tag, length).ToArray();

    static (RingPass Pass, List<byte[]> Records) Drain(byte[] ring, ulong read, ulong write, ulong before = ulong.MaxValue)
    {
        var taken = new List<RingRecord>();
        var pass = RingReader.Scan(ring, 3, read, write, before, taken);
        Assert.All(taken, r => Assert.Equal(3, r.Ring));
        return (pass, taken.Select(r => ring.AsSpan(r.Offset, r.Length).ToArray()).ToList());
    }

    /// <summary>An event's body starts with its time.</summary>
    static byte[] Stamped(ulong time, int length)
    {
        var body = Body(0xee, length);
        BinaryPrimitives.WriteUInt64LittleEndian(body, time);
        return body;
    }

    [Fact]
    public void Published_records_come_out_in_order_and_the_read_position_follows_them()
    {
        var ring = new byte[Capacity];
        ulong p = Put(ring, 0, RingLayout.RecordEvent, Body(1, 16));
        p = Put(ring, p, RingLayout.RecordEvent, Body(2, 40));

        var (pass, records) = Drain(ring, 0, p);

        Assert.Equal(new RingPass(p, 2, 0), pass);
        Assert.Equal([Body(1, 16), Body(2, 40)], records);
        // Nothing new: nothing read, nothing skipped.
        Assert.Equal(new RingPass(p, 0, 0), Drain(ring, p, p).Pass);
    }

    [Fact]
    public void A_record_that_would_cross_the_end_follows_a_pad_and_starts_again_at_the_beginning()
    {
        var ring = new byte[Capacity];
        // Second lap: positions count every byte ever written, offsets are modulo the capacity.
        ulong start = 3 * Capacity + 192;
        ulong p = Put(ring, start, RingLayout.RecordEvent, Body(7, 24));       // 192..224
        p = Put(ring, p, RingLayout.RecordPad, [], length: 32);               // 224..256, the end
        p = Put(ring, p, RingLayout.RecordEvent, Body(8, 100));               // 0..112 of the next lap

        var (pass, records) = Drain(ring, start, p);

        Assert.Equal(new RingPass(4 * Capacity + 112, 2, 0), pass);
        Assert.Equal(2, records.Count);
        Assert.Equal(Body(7, 24), records[0]);
        // The body comes with the record's padding to 8 bytes.
        Assert.Equal(104, records[1].Length);
        Assert.Equal(Body(8, 100), records[1][..100]);
    }

    [Fact]
    public void Events_stamped_after_the_pass_began_stay_for_the_next_pass()
    {
        var ring = new byte[Capacity];
        ulong p = Put(ring, 0, RingLayout.RecordEvent, Stamped(100, 16));
        ulong second = p;
        p = Put(ring, p, RingLayout.RecordEvent, Stamped(200, 16));
        p = Put(ring, p, RingLayout.RecordEvent, Stamped(150, 16)); // behind a later one: waits with it

        var (pass, records) = Drain(ring, 0, p, before: 200);

        Assert.Equal(new RingPass(second, 1, 0), pass);
        Assert.Equal([Stamped(100, 16)], records);
        Assert.Equal(2, Drain(ring, second, p, before: 201).Records.Count);
    }

    [Fact]
    public void A_record_longer_than_what_was_published_is_not_read_and_is_counted_as_damaged()
    {
        var ring = new byte[Capacity];
        ulong p = Put(ring, 0, RingLayout.RecordEvent, Body(1, 16));
        ulong torn = Put(ring, p, RingLayout.RecordEvent, Body(2, 64));
        // The writer position says less than the second record's length: a torn record.
        ulong published = p + 40;

        var (pass, records) = Drain(ring, 0, published);

        Assert.Single(records);
        Assert.Equal(Body(1, 16), records[0]);
        Assert.Equal(new RingPass(published, 1, published - p), pass);
        Assert.True(torn > published);
    }

    [Theory]
    [InlineData(0u, RingLayout.RecordEvent)]   // no length
    [InlineData(8u, RingLayout.RecordEvent)]   // an event without its time
    [InlineData(4u, RingLayout.RecordEvent)]   // shorter than its prefix
    [InlineData(20u, RingLayout.RecordEvent)]  // not a multiple of 8
    [InlineData(24u, 9u)]                      // unknown kind
    [InlineData(24u, RingLayout.RecordPad)]    // a pad that stops short of the end
    public void A_malformed_record_stops_the_pass_and_the_rest_up_to_the_writer_is_skipped(uint length, uint kind)
    {
        var ring = new byte[Capacity];
        ulong p = Put(ring, 0, RingLayout.RecordEvent, Body(1, 8));
        ulong bad = p;
        Put(ring, bad, kind, Body(3, 8), length);
        ulong write = bad + 64;

        var (pass, records) = Drain(ring, 0, write);

        Assert.Single(records);
        Assert.Equal(new RingPass(write, 1, write - bad), pass);
    }

    [Fact]
    public void A_record_that_crosses_the_end_is_damaged_even_when_published()
    {
        var ring = new byte[Capacity];
        ulong start = 224;
        Put(ring, start, RingLayout.RecordEvent, Body(5, 8), length: 64); // 224 + 64 > 256

        var (pass, records) = Drain(ring, start, start + 64);

        Assert.Empty(records);
        Assert.Equal(new RingPass(start + 64, 0, 64), pass);
    }

    [Fact]
    public void Positions_no_writer_can_publish_are_skipped_without_reading()
    {
        var ring = new byte[Capacity];
        Put(ring, 0, RingLayout.RecordEvent, Body(1, 8));

        Assert.Equal(new RingPass(1000, 0, 1000), Drain(ring, 0, 1000).Pass);   // more than the ring holds
        Assert.Equal(new RingPass(8, 0, 0), Drain(ring, 16, 8).Pass);           // behind the reader
    }

    [Theory]
    [InlineData(1UL, null, 4UL << 20)]
    [InlineData(4096UL, null, 1UL << 20)]
    [InlineData(512UL << 10, null, 1UL << 20)]
    [InlineData(1UL, 3UL << 20, 2UL << 20)]      // --buffer rounds down to a power of two
    [InlineData(1UL, 1000UL, 256UL << 10)]       // but never below a record with a whole stack copy
    public void Rings_are_sized_from_the_rate_or_the_buffer_option(ulong rate, ulong? buffer, ulong ringBytes)
    {
        Assert.Equal(new RingSizing(RingSizing.DefaultRingCount, ringBytes), RingSizing.For(rate, buffer));
    }
}
