using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Profiler.Collectors.Linux.Ring;

namespace Profiler.Tests.Collector.Ring;

/// <summary>memprof's pass over the shared rings, on a real memfd written as the library writes
/// it: the rings' events merged into one time order, room given back to a writer while the pass
/// still hands events on, and events stamped after the pass began left for the next.</summary>
public sealed class SharedRingDrainTests
{
    internal const ulong RingBytes = 256 * 1024;
    internal const int RingCount = 4;
    const int BodyBytes = 120; // a memprof_event (112 bytes) and one frame

    /// <summary>The rings as the preload library sees them: the file memprof names, written at offsets.</summary>
    internal sealed class Writer(SharedRing rings) : IDisposable
    {
        readonly SafeFileHandle _file = File.OpenHandle(rings.Path, FileMode.Open, FileAccess.ReadWrite);
        readonly ulong[] _written = new ulong[RingCount];

        static long Control(int ring) => RingLayout.HeaderBytes + (long)ring * RingLayout.ControlBytes;

        /// <summary>An event stamped <paramref name="time"/> into <paramref name="ring"/>, then published.</summary>
        public void Event(int ring, ulong time)
        {
            var record = new byte[RingLayout.PrefixBytes + BodyBytes];
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)record.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), RingLayout.RecordEvent);
            BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(RingLayout.PrefixBytes), time);
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(RingLayout.PrefixBytes + 8), (uint)ring); // pid: which ring
            long data = (long)RingLayout.DataOffset(RingCount) + ring * (long)RingBytes;
            RandomAccess.Write(_file, record, data + (long)(_written[ring] % RingBytes));
            _written[ring] += (ulong)record.Length;
            Put(Control(ring) + RingLayout.WritePosOffset, _written[ring]);
        }

        public ulong ReadPosition(int ring)
        {
            var bytes = new byte[8];
            RandomAccess.Read(_file, bytes, Control(ring) + RingLayout.ReadPosOffset);
            return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        }

        public ulong Written(int ring) => _written[ring];

        void Put(long offset, ulong value)
        {
            var bytes = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
            RandomAccess.Write(_file, bytes, offset);
        }

        public void Dispose() => _file.Dispose();
    }

    static (ulong Time, uint Ring) Seen(ReadOnlySpan<byte> body) =>
        (BinaryPrimitives.ReadUInt64LittleEndian(body), BinaryPrimitives.ReadUInt32LittleEndian(body[8..]));

    [Fact]
    public void Events_of_several_rings_come_out_in_one_time_order_and_a_tie_keeps_the_order_of_the_rings()
    {
        long now = 1_000;
        using var rings = new SharedRing(new RingSizing(RingCount, RingBytes), 0, () => now);
        using var writer = new Writer(rings);
        foreach (var (ring, time) in new[] { (2, 10UL), (2, 30UL), (2, 50UL), (0, 20UL), (0, 30UL), (0, 60UL), (3, 5UL), (3, 30UL) })
            writer.Event(ring, time);
        var seen = new List<(ulong, uint)>();

        int handed = rings.Drain(body => seen.Add(Seen(body)));

        Assert.Equal(8, handed);
        Assert.Equal([(5UL, 3u), (10, 2), (20, 0), (30, 0), (30, 2), (30, 3), (50, 2), (60, 0)], seen);
        foreach (int ring in new[] { 0, 2, 3 }) Assert.Equal(writer.Written(ring), writer.ReadPosition(ring));
        Assert.Equal(0, rings.Drain(_ => Assert.Fail("an event handed on twice")));
    }

    [Fact]
    public void Events_stamped_after_the_pass_began_stay_for_the_next_pass()
    {
        long now = 100;
        using var rings = new SharedRing(new RingSizing(RingCount, RingBytes), 0, () => now);
        using var writer = new Writer(rings);
        writer.Event(1, 40);
        writer.Event(1, 100);
        writer.Event(0, 99);
        writer.Event(0, 150);
        var seen = new List<(ulong, uint)>();

        rings.Drain(body => seen.Add(Seen(body)));
        Assert.Equal([(40UL, 1u), (99, 0)], seen);
        Assert.Equal(writer.Written(0) - (RingLayout.PrefixBytes + BodyBytes), writer.ReadPosition(0));

        now = 200;
        seen.Clear();
        rings.Drain(body => seen.Add(Seen(body)));
        Assert.Equal([(100UL, 1u), (150, 0)], seen);
    }

    [Fact]
    public void A_ring_gets_its_room_back_while_the_pass_still_hands_on_its_events()
    {
        long now = long.MaxValue;
        using var rings = new SharedRing(new RingSizing(RingCount, RingBytes), 0, () => now);
        using var writer = new Writer(rings);
        // Most of the ring: a writer waiting for room must not wait for the whole pass.
        int events = (int)(RingBytes * 3 / 4) / (RingLayout.PrefixBytes + BodyBytes);
        for (int i = 0; i < events; i++) writer.Event(2, (ulong)i + 1);
        var readWhileHanding = new List<ulong>();

        rings.Drain(_ => readWhileHanding.Add(writer.ReadPosition(2)));

        Assert.Equal(events, readWhileHanding.Count);
        // Given back in steps, never past what was handed on (the event being handed is still unread).
        var stepped = readWhileHanding.Distinct().ToList();
        Assert.True(stepped.Count >= 8, $"room given back {stepped.Count} times during the pass");
        for (int i = 0; i < events; i++)
            Assert.True(readWhileHanding[i] <= (ulong)i * (RingLayout.PrefixBytes + BodyBytes), $"event {i}: read position {readWhileHanding[i]}");
        Assert.Equal(writer.Written(2), writer.ReadPosition(2));
    }

    static byte[] KernelRecord(ulong time, uint tag)
    {
        var record = new byte[BodyBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(record, time);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), tag);
        return record;
    }

    [Fact]
    public void The_kernels_records_are_merged_in_by_time_first_on_a_tie_and_in_time_order_among_themselves()
    {
        long now = 1_000;
        using var rings = new SharedRing(new RingSizing(RingCount, RingBytes), 0, () => now);
        using var writer = new Writer(rings);
        foreach (var (ring, time) in new[] { (0, 10UL), (0, 40UL), (1, 20UL), (1, 90UL) })
            writer.Event(ring, time);
        // Read from the kernel's buffer slightly out of time order (two CPUs), all before the pass.
        foreach (var time in new[] { 30UL, 5UL, 40UL, 95UL })
            rings.KernelRecords.Add(KernelRecord(time, 99));
        var seen = new List<(ulong, uint)>();

        int handed = rings.Drain(body => seen.Add(Seen(body)), rings.KernelRecords);

        Assert.Equal(8, handed);
        Assert.Equal([(5UL, 99u), (10, 0), (20, 1), (30, 99), (40, 99), (40, 0), (90, 1), (95, 99)], seen);
        Assert.Equal(0, rings.KernelRecords.Count);
    }

    [Fact]
    public void Without_ring_events_the_kernels_records_are_handed_on_alone()
    {
        long now = 1_000;
        using var rings = new SharedRing(new RingSizing(RingCount, RingBytes), 0, () => now);
        rings.KernelRecords.Add(KernelRecord(7, 1));
        rings.KernelRecords.Add(KernelRecord(3, 2));
        var seen = new List<(ulong, uint)>();

        Assert.Equal(2, rings.Drain(body => seen.Add(Seen(body)), rings.KernelRecords));
        Assert.Equal([(3UL, 2u), (7, 1)], seen);
        Assert.Equal(0, rings.Drain(_ => Assert.Fail("a record handed on twice"), rings.KernelRecords));
    }
}
