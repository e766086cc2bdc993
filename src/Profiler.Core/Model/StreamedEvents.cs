using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Model;

/// <summary>
/// A model's events read from the recording on each walk, batch by batch, as the model builder
/// would have put them in its table: memprof's launcher's events before it exec'd the command
/// left out, each stack symbolized (once per process and raw stack, then remembered), and a free
/// added for every block still live when its process exec'd (<see cref="ExecReleases"/>).
/// Memory: the symbolized stacks, one batch, and the live blocks of the processes that exec'd
/// after allocating (usually none).
/// </summary>
public sealed class StreamedEvents : IEventSource
{
    readonly EventBatches _batches;
    readonly (uint Pid, long TimeNanos)? _cutoff;
    readonly List<ProcessExec> _releasing;
    readonly Dictionary<uint, long> _lastExec;
    readonly StackCache _stacks;

    /// <param name="releasing">The execs that may release blocks (one before any event of its
    /// process releases none).</param>
    internal StreamedEvents(EventBatches batches, (uint Pid, long TimeNanos)? cutoff, IEnumerable<ProcessExec> releasing,
        RawStackTable known, Func<uint, ulong, StackId> resolve)
    {
        (_batches, _cutoff) = (batches, cutoff);
        _releasing = releasing.OrderBy(x => x.TimeNanos).ToList();
        _lastExec = _releasing.GroupBy(x => x.Pid).ToDictionary(g => g.Key, g => g.Max(x => x.TimeNanos));
        _stacks = new StackCache(known, resolve);
    }

    public long Count { get; internal set; }

    /// <summary>After a whole walk every stack the events use is resolved, and every later walk
    /// reads the same events: the raw stacks, the symbolizer and what it holds can go.</summary>
    internal void ForgetRawStacks() => _stacks.Seal();

    public void Walk(Action<EventChunk> visit)
    {
        if (!TryWalk(visit))
            throw new ProfilerException(ExitCode.CorruptRecording, "the recording's events could not be read again: it changed while being read");
    }

    /// <summary>As <see cref="Walk"/>; false when a batch could not be decoded (nothing after it was visited).</summary>
    internal bool TryWalk(Action<EventChunk> visit)
    {
        var chunk = new EventChunk();
        long index = 0, kept = 0;
        int nextExec = 0;
        // The blocks live in each process that exec'd after allocating, by recording order.
        var live = _releasing.Count > 0 ? new Dictionary<(uint Pid, ulong Address), (long Order, ulong Weight)>() : null;
        // Runs of one process's events are the rule: its last exec is looked up when the process changes.
        uint? execPid = null;
        long execLast = long.MinValue;
        bool whole = _batches.Walk(columns =>
        {
            chunk.Count = 0;
            chunk.FirstIndex = index;
            chunk.EnsureCapacity(columns.Count);
            for (int e = 0; e < columns.Count; e++)
            {
                long time = columns.TimeNanos[e];
                uint pid = columns.Pid[e];
                if (_cutoff is { } c && pid == c.Pid && time < c.TimeNanos) continue;
                while (nextExec < _releasing.Count && _releasing[nextExec].TimeNanos <= time) Release(_releasing[nextExec++]);
                var kind = columns.Kind[e];
                if (live is not null && pid != execPid) (execPid, execLast) = (pid, _lastExec.GetValueOrDefault(pid, long.MinValue));
                if (live is not null && time < execLast)
                {
                    if (kind == EventKind.Alloc) live[(pid, columns.Address[e])] = (kept, columns.Weight[e]);
                    else if (kind == EventKind.Free) live.Remove((pid, columns.Address[e]));
                }
                kept++;
                chunk.Add(kind, time, pid, columns.Tid[e], columns.Address[e], columns.Size[e], columns.Weight[e],
                    _stacks.Of(pid, columns.StackId[e]), columns.Function[e]);
            }
            index += chunk.Count;
            visit(chunk);
        });
        if (!whole) return false;
        chunk.Count = 0;
        chunk.FirstIndex = index;
        while (nextExec < _releasing.Count) Release(_releasing[nextExec++]);
        if (chunk.Count > 0) visit(chunk);
        return true;

        void Release(ProcessExec exec)
        {
            var map = live!;
            var gone = map.Where(kv => kv.Key.Pid == exec.Pid).OrderBy(kv => kv.Value.Order).ToList();
            foreach (var (key, (_, weight)) in gone)
            {
                map.Remove(key);
                // A free carries the weight of the allocation it releases; it has no stack of its own.
                chunk.Add(EventKind.Free, exec.TimeNanos, key.Pid, key.Pid, key.Address, 0, weight, StackId.None, AllocFunction.ExecRelease);
            }
        }
    }

    /// <summary>Each (process, raw stack id)'s symbolized stack, resolved once. The collector
    /// numbers its stacks from one upwards, so per process an array indexed by the raw id holds
    /// them (see <see cref="StackLookup"/>); other numberings take a dictionary.</summary>
    sealed class StackCache
    {
        static readonly StackId Unresolved = new(int.MinValue);
        Func<uint, ulong, StackId>? _resolve;
        readonly ulong _maxId;
        readonly bool _dense;
        readonly Dictionary<uint, StackId[]> _tables = [];
        readonly Dictionary<(uint, ulong), StackId> _sparse = [];
        StackId[]? _table;
        uint _tablePid;

        public StackCache(RawStackTable known, Func<uint, ulong, StackId> resolve)
        {
            _resolve = resolve;
            _maxId = known.MaxId;
            _dense = _maxId <= (ulong)known.Count * 16 + 4096;
        }

        public void Seal() => _resolve = null;

        StackId Resolve(uint pid, ulong raw) => _resolve is { } resolve ? resolve(pid, raw)
            : throw new ProfilerException(ExitCode.CorruptRecording, "the recording's events could not be read again: it changed while being read");

        public StackId Of(uint pid, ulong raw)
        {
            if (!_dense)
            {
                if (!_sparse.TryGetValue((pid, raw), out var id)) _sparse[(pid, raw)] = id = Resolve(pid, raw);
                return id;
            }
            // Above the highest id there is no stack record, so no stack.
            if (raw > _maxId) return StackId.None;
            if (_table is null || pid != _tablePid)
            {
                if (!_tables.TryGetValue(pid, out _table))
                {
                    _tables[pid] = _table = new StackId[_maxId + 1];
                    Array.Fill(_table, Unresolved);
                }
                _tablePid = pid;
            }
            ref var slot = ref _table[(int)raw];
            if (slot == Unresolved) slot = Resolve(pid, raw);
            return slot;
        }
    }
}
