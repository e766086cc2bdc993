using Profiler.Collectors.HeapTrace;
using static Profiler.Tests.Windows.HeapTraceHarness;

namespace Profiler.Tests.Windows;

/// <summary>
/// A random but realistic heap trace in time order: two threads allocate, free and reallocate
/// (in place and moving), and freed addresses are handed out again, like a real heap does.
/// Ground truth is recomputed from the records alone, independently of the consumer.
/// </summary>
static class Workload
{
    static readonly string[] Sites = ["allocs::churn", "allocs::leak_leaf", "allocs::realloc_grow", "allocs::thread_worker"];

    public static List<TraceRecord> Generate(int seed, int operations, bool withWalks, long spacingNanos = 10_000)
    {
        var random = new Random(seed);
        var records = new List<TraceRecord> { ExeImage() };
        var live = new List<(ulong Address, ulong Size)>();
        var freed = new Stack<ulong>();
        ulong bump = 0x1000_0000;
        long time = 1_000;

        ulong NewAddress()
        {
            if (freed.Count > 0 && random.Next(2) == 0) return freed.Pop();
            bump += 0x1000;
            return bump;
        }

        void Add(TraceRecord record, string? site)
        {
            if (site is not null && withWalks) { records.Add(record); records.Add(WalkOf(record, FakeSymbols.Stack(site, "allocs::main"))); }
            else records.Add(record);
        }

        for (int i = 0; i < operations; i++, time += spacingNanos)
        {
            uint tid = MainTid + (uint)random.Next(2);
            string site = Sites[random.Next(Sites.Length)];
            ulong[]? inline = withWalks ? null : FakeSymbols.Stack(site, "allocs::main");
            int op = random.Next(10);
            if (live.Count == 0 || op < 5)
            {
                ulong size = (ulong)random.Next(1, 5000);
                ulong address = NewAddress();
                live.Add((address, size));
                Add(new HeapAlloc(time, Pid, tid, Heap, address, size, inline), site);
            }
            else if (op < 8)
            {
                int k = random.Next(live.Count);
                var (address, _) = live[k];
                live.RemoveAt(k);
                freed.Push(address);
                Add(new HeapFree(time, Pid, tid, Heap, address), null);
            }
            else
            {
                int k = random.Next(live.Count);
                var (old, oldSize) = live[k];
                ulong size = (ulong)random.Next(1, 9000);
                ulong address = random.Next(2) == 0 ? old : NewAddress();
                if (address != old) freed.Push(old);
                live[k] = (address, size);
                Add(new HeapReAlloc(time, Pid, tid, Heap, address, size, old, oldSize, inline), site);
            }
        }
        return records;
    }

    public sealed record Totals(ulong Allocations, ulong AllocatedBytes, ulong Frees, ulong FreedBytes);

    /// <summary>The exact totals of the heap calls made up to and including <paramref name="time"/>.</summary>
    public static Totals TotalsUpTo(IEnumerable<TraceRecord> records, long time)
    {
        var sizes = new Dictionary<ulong, ulong>();
        ulong allocations = 0, allocated = 0, frees = 0, freedBytes = 0;
        foreach (var r in records.Where(r => r.TimeNanos <= time).OrderBy(r => r.TimeNanos))
        {
            switch (r)
            {
                case HeapAlloc a:
                    allocations++; allocated += a.Size; sizes[a.Address] = a.Size;
                    break;
                case HeapFree f:
                    frees++; freedBytes += sizes[f.Address]; sizes.Remove(f.Address);
                    break;
                case HeapReAlloc re:
                    frees++; freedBytes += sizes[re.OldAddress]; sizes.Remove(re.OldAddress);
                    allocations++; allocated += re.NewSize; sizes[re.NewAddress] = re.NewSize;
                    break;
            }
        }
        return new Totals(allocations, allocated, frees, freedBytes);
    }

    /// <summary>How many frees (or reallocations) reach the consumer before the allocation of the
    /// block they release.</summary>
    public static int FreesArrivingBeforeTheirAllocation(IReadOnlyList<TraceRecord> delivered)
    {
        var arrival = new Dictionary<TraceRecord, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < delivered.Count; i++) arrival[delivered[i]] = i;
        var allocatedBy = new Dictionary<ulong, TraceRecord>();
        int early = 0;
        foreach (var r in delivered.Where(r => r is HeapAlloc or HeapFree or HeapReAlloc).OrderBy(r => r.TimeNanos))
        {
            ulong? released = r switch { HeapFree f => f.Address, HeapReAlloc re => re.OldAddress, _ => null };
            if (released is { } address && arrival[r] < arrival[allocatedBy[address]]) early++;
            if (r is HeapAlloc a) allocatedBy[a.Address] = a;
            if (r is HeapReAlloc m) allocatedBy[m.NewAddress] = m;
        }
        return early;
    }
}
