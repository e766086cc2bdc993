using Profiler.Core.Recording;

namespace Profiler.Core.Model;

/// <summary>The symbolization pass: raw recording + a frame resolver → the model.</summary>
public static class ProfileModelBuilder
{
    /// <summary>The file name of memprof's in-process sampling library (collectors/preload).</summary>
    public const string MemprofPreloadLibrary = "libmemprof_preload.so";
    /// <summary>Its build for attaching, dlopen'ed into a running process.</summary>
    public const string MemprofInjectLibrary = "libmemprof_inject.so";

    /// <param name="eventsReady">Called with the events in time order before their stacks are
    /// symbolized (their <see cref="AllocationTable.Stack"/> is filled in afterwards), so
    /// analyses that need no stacks can start on another thread meanwhile.</param>
    public static ProfileModel Build(RawRecording recording, IFrameResolver resolver, Action<AllocationTable>? eventsReady = null)
    {
        if (recording.EventsInFile)
            throw new ArgumentException("the recording's events were left in its file: use BuildStreamed", nameof(recording));
        var tables = new CallTreeTables();
        var symbolizer = new Symbolizer(recording, resolver, tables);
        var ev = recording.Events;
        var cutoff = LauncherCutoff(recording);
        var (order, inRecordingOrder) = SortedByTime(ev, cutoff);
        var released = ExecReleases.Find(ev, order, recording.Execs);
        if (released.Count > 0)
        {
            (ev, order) = ExecReleases.Insert(ev, order, released);
            inRecordingOrder = false;
        }
        var stacks = new StackId[order?.Length ?? ev.Count];
        var events = new AllocationTable(ev.Select(inRecordingOrder ? null : order), stacks);
        eventsReady?.Invoke(events);
        StackLookup.Resolve(ev.Pid, ev.StackId, order, recording.Stacks, symbolizer.StackFor, stacks);

        var facts = EventFacts.Of(events);
        return new ProfileModel
        {
            Info = InfoOf(recording, facts),
            Tables = tables,
            Processes = ProcessesOf(recording, facts),
            Events = events,
            Counters = CounterImages.Join(recording.Counters, recording.Execs, cutoff),
            ManagedHeap = ManagedHeapOf(recording),
            ReplacedImages = ExecReleases.Replaced(facts.FirstTimes, recording.Execs),
        };
    }

    /// <summary>
    /// The model of a recording whose events stay in its file (<see cref="RecordingReader.ReadStreaming"/>):
    /// its <see cref="ProfileModel.EventSource"/> reads them again on each walk, and nothing is
    /// kept per event. One walk builds it: it symbolizes the events' stacks, gathers their facts
    /// and checks they are in time order (the writer keeps them so).
    /// </summary>
    /// <returns>Null when the events are not in time order, or a batch cannot be decoded: then they
    /// must be read and sorted (<see cref="Build"/>).</returns>
    public static ProfileModel? BuildStreamed(RawRecording recording, IFrameResolver resolver)
    {
        var cutoff = LauncherCutoff(recording);
        var tables = new CallTreeTables();
        var symbolizer = new Symbolizer(recording, resolver, tables);
        // Every exec is given: one before any event of its process has nothing to release, and
        // finding which those are took a walk of its own.
        var events = new StreamedEvents(recording.Batches, cutoff, recording.Execs, recording.Stacks, symbolizer.StackFor);
        var facts = new EventFacts();
        bool sorted = true;
        long previous = long.MinValue;
        bool whole = events.TryWalk(chunk =>
        {
            for (int i = 0; i < chunk.Count; i++)
            {
                if (chunk.TimeNanos[i] < previous) sorted = false;
                previous = chunk.TimeNanos[i];
            }
            facts.Add(chunk);
        });
        if (!whole || !sorted) return null;
        events.Count = facts.Count;
        events.ForgetRawStacks();
        return new ProfileModel
        {
            Info = InfoOf(recording, facts),
            Tables = tables,
            Processes = ProcessesOf(recording, facts),
            EventSource = events,
            Counters = CounterImages.Join(recording.Counters, recording.Execs, cutoff),
            ManagedHeap = ManagedHeapOf(recording),
            ReplacedImages = ExecReleases.Replaced(facts.FirstTimes, recording.Execs),
        };
    }

    /// <summary>The GC heap samples of the recorded .NET runtimes, in time order.</summary>
    static List<ManagedHeapSample> ManagedHeapOf(RawRecording recording) =>
        [.. recording.ManagedHeap.Select(h => new ManagedHeapSample(h.Pid, h.TimeNanos, (long)h.GcHeapBytes)).OrderBy(h => h.TimeNanos)];

    /// <summary>What the model says of its events as a whole, gathered in one walk.</summary>
    sealed class EventFacts
    {
        public long Count;
        public long? LastTime;
        /// <summary>The distinct (process, thread) pairs; runs of one thread are common.</summary>
        public readonly HashSet<(uint Pid, uint Tid)> Threads = [];
        /// <summary>Each process's first event's time.</summary>
        public readonly Dictionary<uint, long> FirstTimes = [];
        uint _pid, _tid;

        public void Add(EventChunk c)
        {
            for (int i = 0; i < c.Count; i++)
            {
                if (Count + i > 0 && c.Pid[i] == _pid && c.Tid[i] == _tid) continue;
                (_pid, _tid) = (c.Pid[i], c.Tid[i]);
                Threads.Add((_pid, _tid));
                FirstTimes.TryAdd(_pid, c.TimeNanos[i]);
            }
            if (c.Count > 0) LastTime = c.TimeNanos[c.Count - 1];
            Count += c.Count;
        }

        public static EventFacts Of(AllocationTable events)
        {
            var facts = new EventFacts();
            events.Walk(facts.Add);
            return facts;
        }
    }

    /// <summary>Raw stacks to the model's stacks: frames named by the resolver, memprof's own left out.</summary>
    sealed class Symbolizer(RawRecording recording, IFrameResolver resolver, CallTreeTables tables)
    {
        readonly ModuleMaps _maps = ModuleMaps.From(recording.Modules);
        readonly JitCodeMap _jit = JitCodeMap.From(recording.JitSymbols);
        /// <summary>The raw stack being symbolized, innermost first.</summary>
        readonly List<ulong> _addresses = [];
        readonly Dictionary<(uint Pid, ulong Address, bool IsReturn), FrameId[]> _frameCache = [];

        FrameId[] FramesFor(uint pid, ulong address, bool isReturn)
        {
            if (_frameCache.TryGetValue((pid, address, isReturn), out var cached)) return cached;
            var module = _maps.Find(pid, address);
            FrameId[] frames;
            // JIT-compiled code (a .NET runtime's, in an anonymous or double-mapped region) is
            // named from the symbols its runtime published; a return address names its call.
            if (_jit.TryFind(pid, isReturn ? address - 1 : address, out var managed, out _))
            {
                var moduleId = tables.InternModule(JitCodeMap.ModulePath(managed), "");
                var fn = tables.InternFunction(managed.Function, moduleId, null, null);
                frames = [tables.InternFrame(fn, moduleId, address, null, 0)];
            }
            else if (module is null)
            {
                var fn = tables.InternFunction($"0x{address:x}", null, null, null);
                frames = [tables.InternFrame(fn, null, address, null, 0)];
            }
            else
            {
                ulong offset = address - module.Start + module.FileOffset;
                var resolved = resolver.Resolve(module, isReturn ? offset - 1 : offset, offset);
                var moduleId = tables.InternModule(module.Path, module.BuildId);
                frames = new FrameId[resolved.Count];
                for (int i = 0; i < resolved.Count; i++)
                {
                    var r = resolved[i];
                    var fn = tables.InternFunction(r.Function, moduleId, r.File, null);
                    frames[i] = tables.InternFrame(fn, moduleId, r.Address, r.Line, i);
                }
            }
            _frameCache[(pid, address, isReturn)] = frames;
            return frames;
        }

        // memprof's in-process sampler is on the stack of every sample it takes: its marker
        // (memprof_preload_sampled_alloc), its realloc helper and the malloc/realloc/… it
        // interposes. None of it is the program's, so it is left out: the stack then ends where
        // the program (or its language's allocation shim) called malloc, as without memprof.
        bool IsMemprofFrame(uint pid, ulong address) =>
            _maps.Find(pid, address) is { } module && Path.GetFileName(module.Path) is MemprofPreloadLibrary or MemprofInjectLibrary;

        /// <summary>The model's stack of a raw stack in a process. Its callers remember it: each
        /// call interns the stack again.</summary>
        public StackId StackFor(uint pid, ulong rawId)
        {
            var addresses = _addresses;
            if (rawId == 0 || !recording.Stacks.CopyLeafFirst(rawId, addresses, out bool truncated)) return StackId.None;
            // A frame-pointer walk through code built without frame pointers reads data as
            // return addresses; the first one outside every mapped file ends the stack.
            int depth = 1;
            while (depth < addresses.Count &&
                   (_maps.Find(pid, addresses[depth]) is not null || _jit.TryFind(pid, addresses[depth] - 1, out _, out _))) depth++;
            bool cut = truncated || depth < addresses.Count;
            var stack = cut ? tables.InternStack(StackId.None, tables.TruncatedFrame()) : StackId.None;
            // Raw stacks are leaf first; the tree is built from the root. Only the leaf is an
            // exact instruction address, the rest are return addresses.
            for (int i = depth - 1; i >= 0; i--)
            {
                if (IsMemprofFrame(pid, addresses[i])) continue;
                foreach (var frame in FramesFor(pid, addresses[i], isReturn: i > 0))
                    stack = tables.InternStack(stack, frame);
            }
            return stack;
        }
    }

    /// <summary>A launched command starts as memprof's launcher shell; what that shell did before
    /// exec'ing the command is not the command's.</summary>
    static (uint Pid, long TimeNanos)? LauncherCutoff(RawRecording r)
    {
        if (!r.Header.Launched) return null;
        var exec = r.Execs.Where(x => x.Pid == r.Header.TargetPid).OrderBy(x => x.TimeNanos).FirstOrDefault();
        return exec is null ? null : (exec.Pid, exec.TimeNanos);
    }

    /// <returns>The kept events' indices in time order, and whether that is every event in
    /// recording order (then the columns need no copying).</returns>
    static (int[]? Order, bool InRecordingOrder) SortedByTime(EventColumns ev, (uint Pid, long TimeNanos)? cutoff)
    {
        var times = ev.TimeNanos;
        if (IsEveryEventInOrder(ev, cutoff)) return (null, true);
        var order = new int[ev.Count];
        int kept = 0;
        bool sorted = true;
        for (int i = 0; i < ev.Count; i++)
        {
            if (cutoff is { } c && ev.Pid[i] == c.Pid && times[i] < c.TimeNanos) continue;
            if (kept > 0 && times[i] < times[order[kept - 1]]) sorted = false;
            order[kept++] = i;
        }
        Array.Resize(ref order, kept);
        // The writer keeps times non-decreasing, so a recording is normally in order already and
        // the sort (seconds for ten million events) is skipped.
        if (!sorted)
        {
            // Stable: events with equal times keep recording order (a realloc's free before its alloc).
            Array.Sort(order, (a, b) => times[a] != times[b] ? times[a].CompareTo(times[b]) : a.CompareTo(b));
        }
        return (order, sorted && kept == ev.Count);
    }

    /// <summary>The common case, checked without building an order: nothing cut, times non-decreasing.</summary>
    static bool IsEveryEventInOrder(EventColumns ev, (uint Pid, long TimeNanos)? cutoff)
    {
        var times = ev.TimeNanos;
        var pids = ev.Pid;
        for (int i = 0; i < ev.Count; i++)
        {
            if (cutoff is { } c && pids[i] == c.Pid && times[i] < c.TimeNanos) return false;
            if (i > 0 && times[i] < times[i - 1]) return false;
        }
        return true;
    }

    static RecordingInfo InfoOf(RawRecording r, EventFacts events)
    {
        var h = r.Header;
        long end = r.Footer?.EndTimeNanos ?? 0;
        if (events.LastTime is { } last) end = Math.Max(end, last);
        foreach (var exit in r.Exits) end = Math.Max(end, exit.TimeNanos);
        return new RecordingInfo(h.Command.ToArray(), h.TargetPid,
            DateTimeOffset.FromUnixTimeMilliseconds(h.StartUnixNanos / 1_000_000).AddTicks(h.StartUnixNanos % 1_000_000 / 100),
            end, h.Collector, h.Mode, h.SamplingRateBytes, h.Launched, r.LostEvents, r.Warnings)
        {
            UntrackedSamples = r.LastStats?.UntrackedSamples ?? 0,
            Stacks = h.Stacks,
        };
    }

    static IReadOnlyList<ProcessInfo> ProcessesOf(RawRecording r, EventFacts events)
    {
        var eventThreads = events.Threads;
        var pids = new SortedSet<uint>();
        if (r.Header.TargetPid != 0) pids.Add(r.Header.TargetPid);
        foreach (var (pid, _) in eventThreads) pids.Add(pid);
        foreach (var t in r.Threads) pids.Add(t.Pid);
        foreach (var f in r.Forks) pids.Add(f.Pid);
        var result = new List<ProcessInfo>();
        foreach (var pid in pids)
        {
            var threads = new Dictionary<uint, string>();
            foreach (var t in r.Threads.Where(t => t.Pid == pid)) threads[t.Tid] = t.Name;
            foreach (var (p, tid) in eventThreads)
                if (p == pid && !threads.ContainsKey(tid)) threads[tid] = $"thread {tid}";
            if (!threads.ContainsKey(pid)) threads[pid] = "main";
            string name = threads[pid];
            var fork = r.Forks.FirstOrDefault(f => f.Pid == pid);
            var lastExec = r.Execs.LastOrDefault(x => x.Pid == pid && x.Name.Length > 0);
            if (pid == r.Header.TargetPid && r.Header.Command.Count > 0) name = Path.GetFileName(r.Header.Command[0]);
            else if (lastExec is not null) name = lastExec.Name;
            else if (fork is not null && fork.Name.Length > 0) name = fork.Name;
            var exit = r.Exits.LastOrDefault(e => e.Pid == pid);
            result.Add(new ProcessInfo(pid, name, fork?.TimeNanos ?? 0, exit?.TimeNanos, exit?.ExitCode,
                threads.OrderBy(t => t.Key != pid).ThenBy(t => t.Key).Select(t => new ThreadInfo(t.Key, t.Value)).ToList())
            {
                ParentPid = fork?.ParentPid,
            });
        }
        return result;
    }
}
