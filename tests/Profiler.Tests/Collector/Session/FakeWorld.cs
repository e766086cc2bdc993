using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Probes;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Collectors.Linux.Session;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Collector.Session;

/// <summary>Processes, files and a kernel made by hand: what the session core sees, and the log
/// of everything it wrote and asked for, in order.</summary>
sealed class FakeWorld : IProcessView, IBinaryCatalog, IKernelCounters, IRecordSink, ICommandSink
{
    public const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    public const string Preload = "/opt/memprof/libmemprof_preload.so";
    public const string LibJemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
    public const string App = "/usr/bin/app";
    public const string Tool = "/usr/bin/tool";
    public const ulong LibcBase = 0x7f00_0000_0000, PreloadBase = 0x7f10_0000_0000, JemallocBase = 0x7f20_0000_0000;
    public const ulong AppBase = 0x5500_0000_0000, ToolBase = 0x5600_0000_0000;
    public const ulong PreloadStateAddress = 0x4000;

    public readonly Dictionary<int, List<MapEntry>> ProcessMaps = [];
    public readonly Dictionary<(int Pid, ulong Address), byte[]> Memory = [];
    public readonly Dictionary<(int Pid, string Name), string> Environment = [];
    public readonly Dictionary<string, ProbePlan> Plans = [];
    public readonly Dictionary<int, BpfTotals> Totals = [];
    public TracerCounters KernelCounters;
    public readonly List<object> Log = [];
    public int MapReads;

    public FakeWorld()
    {
        Plans[Libc] = new ProbePlan([Site(Libc, "malloc", BpfFunction.Malloc, 0x1000, glibc: true), Site(Libc, "free", BpfFunction.Free, 0x2000, glibc: true)],
            ExitHook: 0x3000) { FinalExitHook = 0x3100 };
        // As the planner gives it: the markers are the file's sites.
        var preload = new PreloadPlan([Site(Preload, "memprof_preload_sampled_alloc", BpfFunction.MarkerAlloc, 0x500),
            Site(Preload, "memprof_preload_sampled_free", BpfFunction.MarkerFree, 0x600)], PreloadStateAddress);
        Plans[Preload] = new ProbePlan(preload.Sites, null) { Preload = preload };
        Plans[LibJemalloc] = new ProbePlan([Site(LibJemalloc, "malloc", BpfFunction.Malloc, 0x7000), Site(LibJemalloc, "free", BpfFunction.Free, 0x7100)], null);
        Plans[App] = new ProbePlan([], null);
        Plans[Tool] = new ProbePlan([], null);
    }

    public static ProbeSite Site(string path, string symbol, BpfFunction function, ulong offset, bool glibc = false) =>
        new(path, symbol, function, offset, new ProbePoint(0, 0, false, "push %rbp"), NeedsReturn: function != BpfFunction.Free, glibc);

    public static MapEntry Text(string path, ulong start) => new(start, start + 0x10_0000, "r-xp", 0, path);

    /// <summary>A process mapping these files, each at its usual base.</summary>
    public void MapFiles(int pid, params string[] files) =>
        ProcessMaps[pid] = [.. files.Select(f => Text(f, Base(f))), new MapEntry(0x7ffd_0000_0000, 0x7ffd_0002_0000, "rw-p", 0, "[stack]")];

    public static ulong Base(string file) => file switch
    {
        Libc => LibcBase, Preload => PreloadBase, LibJemalloc => JemallocBase, App => AppBase, Tool => ToolBase,
        _ => throw new ArgumentException(file),
    };

    public SessionCore Core(ulong rate = 1, Profiler.Collectors.Linux.Jemalloc.JemallocPolicy? jemalloc = null) =>
        new(new SessionPorts(this, this, this, this, this, Unwinder: null, jemalloc), rate, () => Now);

    public long Now { get; set; } = 1_000_000;

    // What the core read
    public IReadOnlyList<MapEntry> Maps(int pid)
    {
        MapReads++;
        return ProcessMaps.TryGetValue(pid, out var maps) ? maps : [];
    }

    public bool TryRead(int pid, ulong address, Span<byte> buffer)
    {
        if (!Memory.TryGetValue((pid, address), out var bytes) || bytes.Length < buffer.Length) return false;
        bytes.AsSpan(0, buffer.Length).CopyTo(buffer);
        return true;
    }

    public string? EnvironmentVariable(int pid, string name) => Environment.GetValueOrDefault((pid, name));
    public bool Exists(int pid) => ProcessMaps.ContainsKey(pid);
    public string Canonical(string path) => path;
    public bool Exists(string path) => Plans.ContainsKey(path);
    public ProbePlan Plan(string path) => Plans.GetValueOrDefault(path) ?? new ProbePlan([], null);
    public string BuildId(string path) => $"id-{Path.GetFileName(path)}";
    public ulong? FirstLoadAddress(string path) => Plans.ContainsKey(path) ? 0 : null;
    public TracerCounters ReadCounters() => KernelCounters;
    public BpfTotals? ReadTotals(int pid) => Totals.TryGetValue(pid, out var t) ? t : null;

    // What the core wrote and asked for
    public void Event(in RawEvent e) => Log.Add(e);
    public void Stack(Stack stack) => Log.Add(stack);
    public void Module(Module module) => Log.Add(module);
    public void Thread(Profiler.Core.Recording.Proto.Thread thread) => Log.Add(thread);
    public void Exec(ProcessExec exec) => Log.Add(exec);
    public void Fork(ProcessFork fork) => Log.Add(fork);
    public void Exit(ProcessExit exit) => Log.Add(exit);
    public void Counters(HeapCounters counters) => Log.Add(counters);
    public void Execute(SessionCommand command) => Log.Add(command);

    public IEnumerable<T> Logged<T>() => Log.OfType<T>();
    public List<RawEvent> Events => [.. Log.OfType<RawEvent>()];
    public List<SessionCommand> Commands => [.. Log.OfType<SessionCommand>()];
    public void Clear() => Log.Clear();
}
