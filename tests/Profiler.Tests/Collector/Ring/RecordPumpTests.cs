using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Ring;

namespace Profiler.Tests.Collector.Ring;

/// <summary>memprof's pass over the kernel's buffer and the shared rings (a real memfd written as
/// the library writes it): every record handed on once, the kernel read again every 256 records
/// handed, and, once warm, no allocation in a pass (a pass runs up to a thousand times a second).</summary>
public sealed class RecordPumpTests
{
    /// <summary>Hands the same kernel record a fixed number of times per read, and counts the reads.</summary>
    sealed class RepeatingTracer(int recordsPerRead) : IKernelTracer
    {
        readonly byte[] _record = new byte[120]; // time 0: before every ring event
        public int Reads;
        public string Mode => "repeating";
        public int LinkCount => 0;
        public void Track(int pid, bool launched) { }
        public void Attach(int pid, string path, IReadOnlyList<UprobeTarget> targets) { }
        public void Detach(int pid) { }
        public TracerCounters ReadCounters() => default;
        public BpfTotals? ReadTotals(int pid) => null;
        public void DetachAll(bool wait = true) { }
        public void Dispose() { }

        public int Drain(BpfEventSink sink, int timeoutMs)
        {
            Reads++;
            for (int i = 0; i < recordsPerRead; i++) sink(_record);
            return recordsPerRead;
        }
    }

    sealed class Counter
    {
        public int Records, Ticks;
        public void Take(ReadOnlySpan<byte> record) => Records++;
        public void Tick() => Ticks++;
    }

    const int EventsPerPass = 700;
    const int KernelRecordsPerRead = 3;

    [Fact]
    public void A_warm_pass_hands_every_record_on_once_and_allocates_nothing()
    {
        long now = long.MaxValue;
        using var rings = new SharedRing(new RingSizing(SharedRingDrainTests.RingCount, SharedRingDrainTests.RingBytes), 0, () => now);
        using var writer = new SharedRingDrainTests.Writer(rings);
        var tracer = new RepeatingTracer(KernelRecordsPerRead);
        var counter = new Counter();
        var pump = new RecordPump(tracer, rings, counter.Take, counter.Tick);
        ulong time = 1;
        // 700 events: the kernel is read at the pass's start and again after 256 and 512 handed.
        int midPassReads = EventsPerPass / RecordPump.KernelReadEvery;

        long allocated = 0;
        for (int pass = 0; pass < 6; pass++)
        {
            for (int i = 0; i < EventsPerPass; i++) writer.Event(i % SharedRingDrainTests.RingCount, time++);
            int readsBefore = tracer.Reads, recordsBefore = counter.Records;
            // Records read mid-pass join the next pass.
            int expected = EventsPerPass + KernelRecordsPerRead + (pass == 0 ? 0 : midPassReads * KernelRecordsPerRead);

            long before = GC.GetAllocatedBytesForCurrentThread();
            int handed = pump.Pass(0);
            if (pass >= 3) allocated += GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal(expected, handed);
            Assert.Equal(expected, counter.Records - recordsBefore);
            Assert.Equal(1 + midPassReads, tracer.Reads - readsBefore);
            Assert.Equal(pass + 1, counter.Ticks);
        }
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Without_rings_a_pass_hands_the_kernel_records_straight_on()
    {
        var tracer = new RepeatingTracer(KernelRecordsPerRead);
        var counter = new Counter();
        var pump = new RecordPump(tracer, null, counter.Take, counter.Tick);

        Assert.Equal(KernelRecordsPerRead, pump.Pass(0));
        Assert.Equal(KernelRecordsPerRead, counter.Records);
        Assert.Equal(1, tracer.Reads);
        Assert.Equal(1, counter.Ticks);
    }
}
