using Profiler.Core.Model;

namespace Profiler.Core.Analysis;

/// <summary>
/// DHAT-style metrics of every recorded allocation, summed per allocating stack; sites,
/// functions and call-tree nodes are sums of these. The heap's peak (t-gmax) is taken per
/// process — processes have separate heaps — from the exact counters when the recording has
/// them, else from the events' own timeline.
/// </summary>
public sealed class HeapMetrics
{
    public required MetricsOptions Options { get; init; }
    public required HeapTimelines Timelines { get; init; }
    /// <summary>Metrics of the allocations made at each stack (exclusive; <see cref="StackId.None"/>
    /// for events without one).</summary>
    public required IReadOnlyDictionary<StackId, AllocationMetrics> ByStack { get; init; }
    public required AllocationMetrics Total { get; init; }

    /// <summary>As <see cref="Compute(ProfileModel, MetricsOptions?, PairedVisitor[])"/>, for a caller that
    /// already paired the model's events in a table: the walk pairs them again as it goes.</summary>
    public static HeapMetrics Compute(ProfileModel model, HeapAnalysis heap, MetricsOptions? options = null) => Compute(model, options);

    /// <param name="alongside">Other analyses' visitors, given the same walk over the events.</param>
    public static HeapMetrics Compute(ProfileModel model, MetricsOptions? options = null, params PairedVisitor[] alongside)
    {
        options ??= new MetricsOptions();
        var timelines = HeapTimelines.Compute(model, options.Pid);
        var visitor = new MetricsVisitor(model, timelines, options);
        PairedWalk.Run(model.EventSource, [visitor, .. alongside]);
        return visitor.Result;
    }

    /// <summary>The objects a recorded allocation stands for: weight / size (1 for a zero-size one).</summary>
    public static double BlocksOf(ulong size, ulong weight) => size == 0 ? 1 : (double)weight / size;

    static bool IsRealloc(AllocFunction f) => f is AllocFunction.Realloc or AllocFunction.Reallocarray;

    /// <summary>
    /// Sums each allocation into its stack's metrics: what it allocated when it is made, what
    /// became of it (freed, live at the peak, leaked…) when it is freed or at the end. Memory:
    /// one sum per stack and the walk's live blocks.
    /// </summary>
    sealed class MetricsVisitor(ProfileModel model, HeapTimelines timelines, MetricsOptions options) : PairedVisitor
    {
        readonly Dictionary<uint, long> _peakCut = timelines.Processes.ToDictionary(p => p.Pid!.Value, p => (long)p.PeakEventIndex);
        readonly HashSet<uint> _exited = model.Processes.Where(p => p.EndNanos is not null).Select(p => p.Pid).ToHashSet();
        // Per allocating stack, in the order they first allocate (so the dictionary lists them as
        // it always did): most of the call tree's nodes are callers that allocate nothing, so an
        // array indexed by stack (0: no stack) gives each allocating stack's slot + 1.
        // The sums sit in chunks: a list's doubling would copy them, twice their size at once.
        const int ChunkBits = 12, ChunkSize = 1 << ChunkBits;
        readonly int[] _slotOf = new int[model.Tables.Stacks.Count + 1];
        readonly List<MetricsSum[]> _sums = [];
        readonly List<int> _firstSeen = [];
        MetricsSum _total;
        /// <summary>Each thread's last event: a realloc's allocation follows its free on the same thread.</summary>
        readonly Dictionary<(uint Pid, uint Tid), ThreadLast> _lastOfThread = [];

        /// <param name="OldSize">The size of the block a realloc's free released; -1 for any other event.</param>
        readonly record struct ThreadLast(long TimeNanos, long OldSize);

        uint _lastPid;
        long _lastPeakCut = -1;
        bool _havePid;

        public HeapMetrics Result
        {
            get
            {
                var byStack = new Dictionary<StackId, AllocationMetrics>(_firstSeen.Count);
                for (int slot = 0; slot < _firstSeen.Count; slot++) byStack.Add(new StackId(_firstSeen[slot] - 1), Sum(slot).ToMetrics());
                return new HeapMetrics { Options = options, Timelines = timelines, ByStack = byStack, Total = _total.ToMetrics() };
            }
        }

        bool Counted(uint pid) => options.Pid is not { } only || pid == only;

        long PeakCut(uint pid)
        {
            if (!_havePid || pid != _lastPid)
            {
                (_lastPid, _havePid) = (pid, true);
                _lastPeakCut = _peakCut.GetValueOrDefault(pid, -1);
            }
            return _lastPeakCut;
        }

        public override void Event(EventChunk c, int i)
        {
            if (c.Kind[i] is not (EventKind.Alloc or EventKind.Free)) _lastOfThread[(c.Pid[i], c.Tid[i])] = new ThreadLast(c.TimeNanos[i], -1);
        }

        public override void Alloc(EventChunk c, int i)
        {
            var key = (c.Pid[i], c.Tid[i]);
            var before = _lastOfThread.GetValueOrDefault(key, new ThreadLast(long.MinValue, -1));
            _lastOfThread[key] = new ThreadLast(c.TimeNanos[i], -1);
            if (!Counted(c.Pid[i])) return;
            double blocks = BlocksOf(c.Size[i], c.Weight[i]);
            // A realloc is recorded as the free of the old block and the allocation of the new
            // one, by the same thread at the same time, free first. The growth is new size − old
            // size for each object the new event stands for; unknown (0, not counted) when the
            // old block was not recorded — allocated before recording began, or not sampled.
            (long growth, double reallocs) = IsRealloc(c.Function[i]) && before.TimeNanos == c.TimeNanos[i] && before.OldSize >= 0
                ? ((long)Math.Round(((double)c.Size[i] - (ulong)before.OldSize) * blocks), blocks)
                : (0L, 0.0);
            SumOf(c.Stack[i]).AddAllocation((long)c.Weight[i], blocks, growth, reallocs);
            _total.AddAllocation((long)c.Weight[i], blocks, growth, reallocs);
        }

        public override void Free(EventChunk c, int i, in LiveBlock? released)
        {
            long oldSize = released is { } r && IsRealloc(c.Function[i]) ? (long)r.Size : -1;
            _lastOfThread[(c.Pid[i], c.Tid[i])] = new ThreadLast(c.TimeNanos[i], oldSize);
            if (released is not { } block || !Counted(block.Pid)) return;
            long index = c.FirstIndex + i;
            long cut = PeakCut(block.Pid);
            long lifetime = c.TimeNanos[i] - block.TimeNanos;
            double blocks = BlocksOf(block.Size, block.Weight);
            Outcome(block, new Outcome(Freed: true, AtPeak: block.Index <= cut && index > cut, Leaked: false,
                ShortLived: lifetime < options.ShortLivedNanos, LifetimeBlockNanos: lifetime * blocks));
        }

        public override void End(IReadOnlyList<LiveBlock> live)
        {
            foreach (var block in live)
            {
                if (!Counted(block.Pid)) continue;
                Outcome(block, new Outcome(Freed: false, AtPeak: block.Index <= PeakCut(block.Pid), Leaked: _exited.Contains(block.Pid),
                    ShortLived: false, LifetimeBlockNanos: 0));
            }
        }

        void Outcome(in LiveBlock block, in Outcome outcome)
        {
            double blocks = BlocksOf(block.Size, block.Weight);
            SumOf(block.Stack).AddOutcome((long)block.Weight, blocks, outcome);
            _total.AddOutcome((long)block.Weight, blocks, outcome);
        }

        ref MetricsSum SumOf(StackId stack)
        {
            ref int slot = ref _slotOf[stack.Index + 1];
            if (slot == 0)
            {
                if (_firstSeen.Count % ChunkSize == 0) _sums.Add(new MetricsSum[ChunkSize]);
                _firstSeen.Add(stack.Index + 1);
                slot = _firstSeen.Count;
            }
            return ref Sum(slot - 1);
        }

        ref MetricsSum Sum(int slot) => ref _sums[slot >> ChunkBits][slot & (ChunkSize - 1)];
    }

    /// <summary>Per allocation site (see <see cref="SiteMode"/>; <see cref="MetricsOptions.SiteMode"/> chooses).</summary>
    public IReadOnlyList<FunctionMetrics> Sites(CallTreeTables tables) => SiteAnalysis.Sites(tables, ByStack, Options.SiteMode);

    /// <summary>Per function, inclusive: every function on an allocating stack, counted once per stack.</summary>
    public IReadOnlyList<FunctionMetrics> Functions(CallTreeTables tables) => SiteAnalysis.FunctionsInclusive(tables, ByStack);

    /// <summary>Per call-tree node (stack prefix), inclusive of the nodes below it.</summary>
    public IReadOnlyDictionary<StackId, AllocationMetrics> CallTree(CallTreeTables tables)
    {
        var inclusive = new AllocationMetrics[tables.Stacks.Count];
        var touched = new bool[tables.Stacks.Count];
        foreach (var (stack, metrics) in ByStack)
        {
            if (stack.IsNone) continue;
            inclusive[stack.Index] += metrics;
            touched[stack.Index] = true;
        }
        // A parent is interned before its children, so a backward sweep sees every child first.
        for (int s = inclusive.Length - 1; s >= 0; s--)
        {
            if (!touched[s]) continue;
            var parent = tables.Stacks[s].Parent;
            if (parent.IsNone) continue;
            inclusive[parent.Index] += inclusive[s];
            touched[parent.Index] = true;
        }
        var result = new Dictionary<StackId, AllocationMetrics>();
        for (int s = 0; s < inclusive.Length; s++)
            if (touched[s]) result[new StackId(s)] = inclusive[s];
        return result;
    }
}
