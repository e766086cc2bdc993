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
        var tables = new CallTreeTables();
        var maps = ModuleMaps.From(recording.Modules);
        var jit = JitCodeMap.From(recording.JitSymbols);
        var stackCache = new Dictionary<(uint Pid, ulong RawId), StackId>();
        var frameCache = new Dictionary<(uint Pid, ulong Address, bool IsReturn), FrameId[]>();

        FrameId[] FramesFor(uint pid, ulong address, bool isReturn)
        {
            if (frameCache.TryGetValue((pid, address, isReturn), out var cached)) return cached;
            var module = maps.Find(pid, address);
            FrameId[] frames;
            // JIT-compiled code (a .NET runtime's, in an anonymous or double-mapped region) is
            // named from the symbols its runtime published; a return address names its call.
            if (jit.TryFind(pid, isReturn ? address - 1 : address, out var managed, out _))
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
            frameCache[(pid, address, isReturn)] = frames;
            return frames;
        }

        // memprof's in-process sampler is on the stack of every sample it takes: its marker
        // (memprof_preload_sampled_alloc), its realloc helper and the malloc/realloc/… it
        // interposes. None of it is the program's, so it is left out: the stack then ends where
        // the program (or its language's allocation shim) called malloc, as without memprof.
        bool IsMemprofFrame(uint pid, ulong address) =>
            maps.Find(pid, address) is { } module && Path.GetFileName(module.Path) is MemprofPreloadLibrary or MemprofInjectLibrary;

        StackId StackFor(uint pid, ulong rawId)
        {
            if (rawId == 0 || !recording.Stacks.TryGetValue(rawId, out var raw)) return StackId.None;
            if (stackCache.TryGetValue((pid, rawId), out var id)) return id;
            // A frame-pointer walk through code built without frame pointers reads data as
            // return addresses; the first one outside every mapped file ends the stack.
            int depth = 1;
            while (depth < raw.Addresses.Count &&
                   (maps.Find(pid, raw.Addresses[depth]) is not null || jit.TryFind(pid, raw.Addresses[depth] - 1, out _, out _))) depth++;
            bool cut = raw.Truncated || depth < raw.Addresses.Count;
            var stack = cut ? tables.InternStack(StackId.None, tables.TruncatedFrame()) : StackId.None;
            // Raw stacks are leaf first; the tree is built from the root. Only the leaf is an
            // exact instruction address, the rest are return addresses.
            for (int i = depth - 1; i >= 0; i--)
            {
                if (IsMemprofFrame(pid, raw.Addresses[i])) continue;
                foreach (var frame in FramesFor(pid, raw.Addresses[i], isReturn: i > 0))
                    stack = tables.InternStack(stack, frame);
            }
            stackCache[(pid, rawId)] = stack;
            return stack;
        }

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
        StackLookup.Resolve(ev.Pid, ev.StackId, order, recording.Stacks, StackFor, stacks);

        return new ProfileModel
        {
            Info = InfoOf(recording, events),
            Tables = tables,
            Processes = ProcessesOf(recording, events),
            Events = events,
            Counters = CounterImages.Join(recording.Counters, recording.Execs, cutoff),
            ManagedHeap = [.. recording.ManagedHeap.Select(h => new ManagedHeapSample(h.Pid, h.TimeNanos, (long)h.GcHeapBytes)).OrderBy(h => h.TimeNanos)],
            ReplacedImages = ExecReleases.Replaced(events, recording.Execs),
        };
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

    static RecordingInfo InfoOf(RawRecording r, AllocationTable events)
    {
        var h = r.Header;
        long end = r.Footer?.EndTimeNanos ?? 0;
        if (events.Count > 0) end = Math.Max(end, events.TimeNanos[^1]);
        foreach (var exit in r.Exits) end = Math.Max(end, exit.TimeNanos);
        return new RecordingInfo(h.Command.ToArray(), h.TargetPid,
            DateTimeOffset.FromUnixTimeMilliseconds(h.StartUnixNanos / 1_000_000).AddTicks(h.StartUnixNanos % 1_000_000 / 100),
            end, h.Collector, h.Mode, h.SamplingRateBytes, h.Launched, r.LostEvents, r.Warnings)
        {
            UntrackedSamples = r.LastStats?.UntrackedSamples ?? 0,
            Stacks = h.Stacks,
        };
    }

    static IReadOnlyList<ProcessInfo> ProcessesOf(RawRecording r, AllocationTable events)
    {
        var eventThreads = ThreadsOfEvents(events);
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

    /// <summary>The distinct (process, thread) pairs of the events; runs of one thread are common.</summary>
    static HashSet<(uint Pid, uint Tid)> ThreadsOfEvents(AllocationTable events)
    {
        var pairs = new HashSet<(uint, uint)>();
        var pid = events.Pid;
        var tid = events.Tid;
        for (int i = 0; i < events.Count; i++)
            if (i == 0 || pid[i] != pid[i - 1] || tid[i] != tid[i - 1]) pairs.Add((pid[i], tid[i]));
        return pairs;
    }
}
