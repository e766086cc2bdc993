using Profiler.Collectors.Linux.Session;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.Linux.DotNet;

/// <summary>
/// Names the JIT-compiled code of the .NET processes being recorded. A process is .NET once it maps
/// the runtime (libcoreclr.so, or CoreCLR's double-mapped code region); its runtime's perf map is
/// copied into the recording as it grows (<see cref="Poll"/>) and once more at the end, so a report
/// needs neither the process nor the file. A launched command has it on from its start (the
/// environment, <see cref="LaunchEnvironment"/>); an attached process is asked to turn it on
/// through the diagnostics IPC, and to turn it off again at the end; one that gives no map has
/// its sampled JIT code named through ClrMD (<paramref name="clrMd"/>) before memprof lets it go.
/// </summary>
/// <param name="launched">The command was launched with the perf map on (it writes its map from its start).</param>
/// <param name="removeMapsOf">For a launched command whose perf map memprof turned on: the map of a
/// process gone by the end is removed (it was copied; nobody asked for the file). Null keeps them.</param>
/// <param name="gcHeap">Follows each runtime's GC heap size (null: not followed); <paramref name="clock"/>
/// stamps its samples in recording time.</param>
/// <param name="clrMd">Names the sampled JIT code of an attached runtime that gave no perf map (null: it stays unnamed).</param>
/// <param name="openDump">The jitdump of a process whose precompiled (ReadyToRun) code it names, which
/// the perf map leaves out: a launched command's, written from its start (null: none is read).</param>
public sealed class DotNetProcesses(IPerfMapControl control, bool launched, Func<int, bool>? removeMapsOf = null,
    Func<string, PerfMapFile>? openMap = null, IGcHeapSource? gcHeap = null, Func<long>? clock = null, ClrMdFallback? clrMd = null,
    Func<int, JitDumpFile>? openDump = null)
{
    /// <summary>A launched runtime opens its diagnostics socket a moment after it is mapped: so many polls are tried.</summary>
    const int GcHeapAttempts = 20;

    /// <summary>See the runtime's clrconfignames.h: 1 writes the perf map and a jitdump (2 the jitdump
    /// only, 3 the perf map only).</summary>
    public const string PerfMapVariable = "DOTNET_PerfMapEnabled";
    public const string PerfMapAndJitDump = "1";
    /// <summary>Stubs one by one (2), not as whole blocks: the .NET 10 runtime copies a block's 64 KiB
    /// into its jitdump, memory partly not committed, and its jitdump ends there.</summary>
    public const string StubGranularityVariable = "DOTNET_PerfMapStubGranularity";
    public const string IndividualStubs = "2";
    /// <summary>Marks precompiled code in the jitdump ([PreJIT]); on by default, kept on.</summary>
    public const string ShowTiersVariable = "DOTNET_PerfMapShowOptimizationTiers";

    sealed class Runtime(PerfMapFile map, JitDumpFile? dump)
    {
        public PerfMapFile Map { get; } = map;
        public JitDumpFile? Dump { get; } = dump;
        public bool EnabledByUs { get; set; }
        /// <summary>Why the runtime could not be asked for its perf map (null: it was not refused).</summary>
        public string? Refusal { get; set; }
        public int Entries { get; set; }
        /// <summary>What its perf map gave (kept only when ClrMD may name what it left out).</summary>
        public List<JitSymbols> Copied { get; } = [];
        public int GcHeapAttempts { get; set; }
        public bool GcHeapFollowed { get; set; }
    }

    readonly Func<string, PerfMapFile> _openMap = openMap ?? (path => new PerfMapFile(path));
    readonly Dictionary<int, Runtime> _runtimes = [];
    readonly List<string> _notes = [];
    readonly System.Collections.Concurrent.ConcurrentQueue<ManagedHeap> _heapSamples = new();

    /// <summary>What to tell the user at the end (a runtime whose frames stay unnamed, and why).</summary>
    public IReadOnlyList<string> Notes => _notes;

    public IReadOnlyCollection<int> Pids => _runtimes.Keys;

    /// <summary>The launch environment with the perf map and the jitdump on, unless the user set the
    /// variable (then the user's choice stands, and so do the user's other perf map settings).</summary>
    /// <param name="inherited">A variable's value in memprof's own environment (the command inherits it).</param>
    public static IReadOnlyDictionary<string, string> LaunchEnvironment(IReadOnlyDictionary<string, string>? environment, Func<string, string?> inherited)
    {
        var result = environment is null ? new Dictionary<string, string>() : new Dictionary<string, string>(environment);
        if (!string.IsNullOrEmpty(inherited(PerfMapVariable)) || result.ContainsKey(PerfMapVariable)) return result;
        result[PerfMapVariable] = PerfMapAndJitDump;
        if (string.IsNullOrEmpty(inherited(StubGranularityVariable))) result[StubGranularityVariable] = IndividualStubs;
        if (string.IsNullOrEmpty(inherited(ShowTiersVariable))) result[ShowTiersVariable] = "1";
        return result;
    }

    public static bool IsRuntimeMapping(string path) =>
        path.EndsWith("/libcoreclr.so", StringComparison.Ordinal) || path.Contains("memfd:doublemapper", StringComparison.Ordinal);

    /// <summary>A mapping was recorded: a first runtime mapping makes its process .NET.</summary>
    public void Mapped(Module module)
    {
        int pid = (int)module.Pid;
        if (_runtimes.ContainsKey(pid) || !IsRuntimeMapping(module.Path)) return;
        var runtime = new Runtime(_openMap(PerfMapFile.For(pid)), openDump?.Invoke(pid));
        _runtimes[pid] = runtime;
        // A launched runtime (or an attached one started with the variable) writes its map already.
        if (launched || runtime.Map.Exists) return;
        if (control.Enable(pid) is { } why)
            runtime.Refusal = why;
        else
            runtime.EnabledByUs = true;
    }

    /// <summary>Writes the GC heap sizes read since the last call, and starts following runtimes
    /// that could not be followed yet.</summary>
    public void PollManagedHeap(Action<ManagedHeap> write)
    {
        while (_heapSamples.TryDequeue(out var sample)) write(sample);
        if (gcHeap is null) return;
        foreach (var (pid, runtime) in _runtimes)
        {
            if (runtime.GcHeapFollowed || runtime.GcHeapAttempts >= GcHeapAttempts) continue;
            runtime.GcHeapAttempts++;
            runtime.GcHeapFollowed = true;
            uint owner = (uint)pid;
            gcHeap.Start(pid, bytes => _heapSamples.Enqueue(new ManagedHeap
                {
                    Pid = owner, TimeNanos = clock?.Invoke() ?? 0, GcHeapBytes = (ulong)Math.Max(0, bytes), Source = "System.Runtime gc-heap-size",
                }),
                // Not listening yet (a runtime just starting): the next poll tries again.
                _ => runtime.GcHeapFollowed = false);
        }
    }

    /// <summary>Stops following the GC heaps and writes what was read.</summary>
    public void FinishManagedHeap(Action<ManagedHeap> write)
    {
        gcHeap?.StopAll();
        while (_heapSamples.TryDequeue(out var sample)) write(sample);
    }

    /// <summary>Copies what the runtimes added to their perf maps (and jitdumps) into the recording.</summary>
    public void Poll(Action<JitSymbols> write, long timeNanos)
    {
        foreach (var (pid, runtime) in _runtimes)
        {
            Copy(pid, runtime, runtime.Map.ReadNew, "perf-map", write, timeNanos);
            if (runtime.Dump is { } dump) Copy(pid, runtime, dump.ReadNew, "jitdump", write, timeNanos);
        }
    }

    void Copy(int pid, Runtime runtime, Func<List<JitSymbol>> read, string source, Action<JitSymbols> write, long timeNanos)
    {
        List<JitSymbol> symbols;
        try { symbols = read(); }
        catch (IOException) { return; }
        catch (UnauthorizedAccessException) { return; }
        if (symbols.Count == 0) return;
        runtime.Entries += symbols.Count;
        var record = new JitSymbols { Pid = (uint)pid, TimeNanos = timeNanos, Source = source };
        record.Symbols.AddRange(symbols);
        write(record);
        if (clrMd is not null) runtime.Copied.Add(record);
    }

    /// <summary>The last copy; runtimes we asked for a perf map are asked to stop writing it.</summary>
    public void Finish(Action<JitSymbols> write, long timeNanos)
    {
        Poll(write, timeNanos);
        foreach (var (pid, runtime) in _runtimes)
        {
            if (runtime.EnabledByUs)
            {
                // Copied, and there only because memprof asked: the file goes too.
                control.Disable(pid);
                runtime.Map.Delete();
            }
            if (removeMapsOf?.Invoke(pid) == true)
            {
                runtime.Map.Delete();
                runtime.Dump?.Delete();
            }
            if (runtime.Entries == 0) Unmapped(pid, runtime, write, timeNanos);
            else if (clrMd is not null) NameWhatTheMapLeftOut(pid, runtime, write, timeNanos);
        }
    }

    /// <summary>A runtime with a perf map: what the map leaves out (on attach, code that ran before
    /// it was turned on) is named through ClrMD, said only when it cannot be.</summary>
    void NameWhatTheMapLeftOut(int pid, Runtime runtime, Action<JitSymbols> write, long timeNanos)
    {
        var map = Core.Model.JitCodeMap.From(runtime.Copied);
        var (record, note) = clrMd!.NameRest(pid, call => map.TryFind((uint)pid, call, out _, out _), timeNanos);
        if (record is not null) write(record);
        if (note is not null) _notes.Add(note);
    }

    /// <summary>A runtime that gave no perf map: named through ClrMD where it can be, and the user told.</summary>
    void Unmapped(int pid, Runtime runtime, Action<JitSymbols> write, long timeNanos)
    {
        if (clrMd is null)
        {
            _notes.Add(runtime.Refusal is { } why
                ? $"process {pid} is a .NET program but its managed frames stay unnamed: {why}"
                : $"process {pid} is a .NET program but wrote no perf map ({runtime.Map.Path}): its managed frames stay unnamed");
            return;
        }
        var (record, note) = clrMd.Name(pid, runtime.Refusal ?? $"it wrote none to {runtime.Map.Path}", timeNanos);
        if (record is not null) write(record);
        _notes.Add(note);
    }

    /// <summary>A sampled stack: kept only once a .NET process is recorded whose code ClrMD may
    /// have to name (an attached process's mappings are all known before its first sample).</summary>
    public void Sampled(Stack stack)
    {
        if (_runtimes.Count > 0) clrMd?.Sampled(stack);
    }
}

/// <summary>Passes the core's records on, telling <see cref="DotNetProcesses"/> of each mapping.</summary>
public sealed class DotNetWatchingSink(IRecordSink inner, DotNetProcesses dotnet) : IRecordSink
{
    public void Event(in RawEvent e) => inner.Event(e);
    public void Stack(Stack stack)
    {
        inner.Stack(stack);
        dotnet.Sampled(stack);
    }
    public void Module(Module module)
    {
        inner.Module(module);
        dotnet.Mapped(module);
    }
    public void Thread(Core.Recording.Proto.Thread thread) => inner.Thread(thread);
    public void Exec(ProcessExec exec) => inner.Exec(exec);
    public void Fork(ProcessFork fork) => inner.Fork(fork);
    public void Exit(ProcessExit exit) => inner.Exit(exit);
    public void Counters(HeapCounters counters) => inner.Counters(counters);
}
