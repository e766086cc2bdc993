using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording;

namespace Profiler.Export;

/// <summary>How a Firefox profile's allocations were chosen when the recording had too many to list.</summary>
/// <param name="KeptAllocations">Allocations the profile lists.</param>
/// <param name="Allocations">Allocations in the recording.</param>
/// <param name="RateBytes">The sampling's mean bytes between kept allocations (of those sampled).</param>
/// <param name="AllocatedError">One standard error of the allocated (and deallocated) bytes' totals.</param>
public sealed record FirefoxSampling(long KeptAllocations, long Allocations, double RateBytes, double AllocatedError)
{
    /// <summary>What the profile says of itself, and the command line says when it writes it.</summary>
    public string Description =>
        $"sampled for size: {KeptAllocations:N0} of {Allocations:N0} allocations listed — every block live at the end or at " +
        $"the heap's peak exactly, the rest a weighted Poisson sample (one per {RateBytes:N0} bytes on average, each weighted " +
        $"by 1/its probability): Retained Memory is exact, Allocated and Deallocated Memory totals are unbiased " +
        $"estimates (± {Formatting.ReportFormat.Bytes((long)Math.Round(AllocatedError))}, one standard error)";
}

/// <summary>
/// The allocations a Firefox profile lists. The Profiler slows down past some hundreds of
/// thousands of native-allocation rows (measured with its loader: bench/README.md), so
/// past <see cref="DefaultMaxRows"/> rows the profile keeps every block live at the end and every
/// block live at its process's heap peak exactly — the Retained Memory tree and the peak are
/// those of the recording — and a weighted Poisson sample of the other allocations (each kept
/// with probability p = 1 − e^(−w/R), then weighing w/p: totals stay unbiased), each with its
/// free. R is chosen from the allocations' sizes so that about the maximum rows are sampled,
/// beside the blocks kept whole (at most as many as the heap held at once). The
/// events are streamed: memory follows the rows kept, not the recording.
/// </summary>
public static class FirefoxSelection
{
    /// <summary>Allocation and free rows a profile lists before it is sampled.</summary>
    public const long DefaultMaxRows = 500_000;

    /// <returns>The model to export (with an event table), and how it was sampled (null: every event).</returns>
    public static (ProfileModel Model, FirefoxSampling? Sampling) Select(ProfileModel model, long maxRows = DefaultMaxRows)
    {
        if (model.HasEventTable && model.Events.Count <= maxRows) return (model, null);
        if (model.EventSource.Count <= maxRows) return (WithEvents(model, Collect(model.EventSource)), null);

        var timelines = HeapTimelines.Compute(model);
        var sizes = new SizeHistogram();
        model.EventSource.Walk(sizes.Add);
        // Each sampled allocation is two rows (with its free). The blocks kept whole (live at the
        // end or at the peak) come on top: as many as the heap held at once at most.
        double rate = sizes.RateFor(maxRows / 2.0);
        var chooser = new Chooser(timelines, rate);
        PairedWalk.Run(model.EventSource, chooser);
        var sampling = new FirefoxSampling(chooser.KeptAllocations, sizes.Allocations, rate, Math.Sqrt(chooser.Variance));
        return (WithEvents(model, chooser.Rows), sampling);
    }

    static ProfileModel WithEvents(ProfileModel model, RowList rows)
    {
        // In the events' order (each event is one row at most), into columns of exactly the rows'
        // length: growing them as they are added would hold twice that.
        var indices = new long[rows.Count];
        var order = new int[rows.Count];
        for (int i = 0; i < rows.Count; i++) (indices[i], order[i]) = (rows[i].Index, i);
        Array.Sort(indices, order);
        var events = EventColumns.OfLength(rows.Count);
        var stacks = new StackId[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            ref readonly var row = ref rows[order[i]];
            events.Set(i, row.Event);
            stacks[i] = row.Stack;
        }
        return new ProfileModel
        {
            Info = model.Info, Tables = model.Tables, Processes = model.Processes, Events = new AllocationTable(events, stacks),
            Counters = model.Counters, ReplacedImages = model.ReplacedImages, ManagedHeap = model.ManagedHeap,
        };
    }

    static RowList Collect(IEventSource source)
    {
        var rows = new RowList();
        source.Walk(c =>
        {
            for (int i = 0; i < c.Count; i++)
                rows.Add(new Row(c.FirstIndex + i, new RawEvent(c.Kind[i], c.TimeNanos[i], c.Pid[i], c.Tid[i], c.Address[i], c.Size[i],
                    c.Weight[i], 0, c.Function[i]), c.Stack[i]));
        });
        return rows;
    }

    readonly record struct Row(long Index, RawEvent Event, StackId Stack);

    /// <summary>The rows kept, in chunks: a list's doubling held up to three times their size at once.</summary>
    sealed class RowList
    {
        const int ChunkBits = 14, ChunkSize = 1 << ChunkBits;
        readonly List<Row[]> _chunks = [];

        public int Count { get; private set; }

        public ref readonly Row this[int i] => ref _chunks[i >> ChunkBits][i & (ChunkSize - 1)];

        public void Add(in Row row)
        {
            if ((Count & (ChunkSize - 1)) == 0) _chunks.Add(new Row[ChunkSize]);
            _chunks[Count >> ChunkBits][Count & (ChunkSize - 1)] = row;
            Count++;
        }
    }

    /// <summary>Allocations counted by weight, in powers of two, to choose the sampling's rate.</summary>
    sealed class SizeHistogram
    {
        readonly long[] _counts = new long[65];
        public long Allocations { get; private set; }

        public void Add(EventChunk c)
        {
            for (int i = 0; i < c.Count; i++)
            {
                if (c.Kind[i] != EventKind.Alloc) continue;
                _counts[64 - System.Numerics.BitOperations.LeadingZeroCount(c.Weight[i])]++;
                Allocations++;
            }
        }

        /// <summary>Expected allocations kept at rate R: Σ n·(1 − e^(−w/R)), w a bucket's middle.</summary>
        double Expected(double rate)
        {
            double sum = 0;
            for (int b = 0; b < _counts.Length; b++)
                if (_counts[b] > 0) sum += _counts[b] * -double.ExpM1(-(b == 0 ? 1 : 1.5 * Math.Pow(2, b - 1)) / rate);
            return sum;
        }

        /// <summary>The rate at which about <paramref name="budget"/> allocations are kept.</summary>
        public double RateFor(double budget)
        {
            double low = 1, high = 1e18;
            for (int k = 0; k < 200 && high / low > 1.0001; k++)
            {
                double mid = Math.Sqrt(low * high);
                if (Expected(mid) > budget) low = mid;
                else high = mid;
            }
            return high;
        }
    }

    /// <summary>Keeps each allocation's rows, or not, once its fate is known: at its free or at the end.</summary>
    sealed class Chooser(HeapTimelines timelines, double rate) : PairedVisitor
    {
        readonly Dictionary<uint, long> _peakCut = timelines.Processes.ToDictionary(p => p.Pid!.Value, p => (long)p.PeakEventIndex);
        public readonly RowList Rows = new();
        public long KeptAllocations;
        /// <summary>Σ w²(1 − p)/p over the allocations sampled: the variance of the allocated total.</summary>
        public double Variance;

        public override void Free(EventChunk c, int i, in LiveBlock? released)
        {
            if (released is not { } block) return;
            long index = c.FirstIndex + i;
            long cut = _peakCut.GetValueOrDefault(block.Pid, -1);
            ulong weight = block.Weight;
            if (!(block.Index <= cut && index > cut))
            {
                double p = -double.ExpM1(-(double)block.Weight / rate);
                Variance += (double)block.Weight * block.Weight * (1 - p) / p;
                if (Uniform(block.Index) >= p) return;
                weight = (ulong)Math.Max(1, Math.Round(block.Weight / p));
            }
            Keep(block, weight);
            Rows.Add(new Row(index, new RawEvent(EventKind.Free, c.TimeNanos[i], c.Pid[i], c.Tid[i], c.Address[i], c.Size[i], weight, 0,
                c.Function[i]), c.Stack[i]));
        }

        public override void End(IReadOnlyList<LiveBlock> live)
        {
            foreach (var block in live) Keep(block, block.Weight);
        }

        void Keep(in LiveBlock block, ulong weight)
        {
            KeptAllocations++;
            Rows.Add(new Row(block.Index, new RawEvent(EventKind.Alloc, block.TimeNanos, block.Pid, block.Tid, block.Address, block.Size,
                weight, 0, block.Function), block.Stack));
        }

        /// <summary>A number in [0, 1) fixed by the event: the same recording exports the same profile.</summary>
        static double Uniform(long index)
        {
            ulong z = (ulong)index + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (z >> 11) * (1.0 / (1UL << 53));
        }
    }
}
