using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Tests.Model;

namespace Profiler.Tests.Analysis;

/// <summary>Builds a <see cref="ProfileModel"/> by hand: stacks by function name, events in time order.</summary>
sealed class TestModel
{
    public const uint Pid = 1;

    readonly CallTreeTables _tables = new();
    readonly List<(EventKind Kind, long Time, uint Pid, uint Tid, ulong Address, ulong Size, ulong Weight, StackId Stack, AllocFunction Function)> _events = [];
    readonly List<HeapCounterSample> _counters = [];
    readonly List<ProcessInfo> _processes = [];
    readonly ModuleId _module;
    readonly Dictionary<string, ulong> _addresses = [];
    readonly Dictionary<string, ModuleId> _modules = [];

    public CallTreeTables Tables => _tables;

    readonly ulong _samplingRate;

    public TestModel(ulong samplingRate = 1)
    {
        _samplingRate = samplingRate;
        _module = _tables.InternModule("/opt/app/bin/app", "00112233445566778899aabbccddeeff00112233");
    }

    /// <summary>Gives a function its file and first line; call before a stack uses it.</summary>
    public TestModel Declare(string name, string file, int line)
    {
        _tables.InternFunction(name, _module, file, line);
        return this;
    }

    /// <summary>Puts a function in another module (a shared library) with the file debug info gave
    /// it, or none (null: symbols without debug info); call before a stack uses it.</summary>
    public TestModel Library(string name, string? file, string modulePath = "/opt/app/bin/app")
    {
        var module = modulePath == "/opt/app/bin/app" ? _module : _tables.InternModule(modulePath, "");
        _modules[name] = module;
        _tables.InternFunction(name, module, file, null);
        return this;
    }

    /// <summary>A stack from the root to the leaf. A frame is "name", "name:line" or "name:line@depth"
    /// (an inlined frame: depth > 0 shares the address of the frame before it).</summary>
    public StackId Stack(params string[] rootToLeaf)
    {
        var stack = StackId.None;
        ulong address = 0;
        foreach (var spec in rootToLeaf)
        {
            var (name, line, depth) = Parse(spec);
            // Frames are interned by address: each distinct real frame gets its own.
            if (depth == 0 && !_addresses.TryGetValue(spec, out address)) _addresses[spec] = address = 0x1000 + 0x40 * (ulong)_addresses.Count;
            var module = _modules.GetValueOrDefault(name, _module);
            var function = _tables.InternFunction(name, module, $"src/{name.Split("::")[^1]}.rs", null);
            stack = _tables.InternStack(stack, _tables.InternFrame(function, module, address, line, depth));
        }
        return stack;
    }

    static (string Name, int? Line, int Depth) Parse(string spec)
    {
        int depth = 0;
        int at = spec.LastIndexOf('@');
        if (at > 0) (spec, depth) = (spec[..at], int.Parse(spec[(at + 1)..]));
        int colon = spec.LastIndexOf(':');
        if (colon > 0 && spec[colon - 1] != ':' && int.TryParse(spec[(colon + 1)..], out var line)) return (spec[..colon], line, depth);
        return (spec, null, depth);
    }

    public TestModel Alloc(long time, ulong address, ulong size, StackId stack, ulong? weight = null, uint pid = Pid, uint? tid = null,
        AllocFunction function = AllocFunction.Malloc)
    {
        _events.Add((EventKind.Alloc, time, pid, tid ?? pid, address, size, weight ?? size, stack, function));
        return this;
    }

    /// <summary>The collector writes frees with weight 0; pairing gives them their allocation's weight.</summary>
    public TestModel Free(long time, ulong address, uint pid = Pid, uint? tid = null, StackId? stack = null,
        AllocFunction function = AllocFunction.FreeFunction)
    {
        _events.Add((EventKind.Free, time, pid, tid ?? pid, address, 0, 0, stack ?? StackId.None, function));
        return this;
    }

    /// <summary>As the collector records a realloc: the old block's free, then the new block, same thread and time.</summary>
    public TestModel Realloc(long time, ulong oldAddress, ulong newAddress, ulong size, StackId stack, ulong? weight = null,
        uint pid = Pid, uint? tid = null)
    {
        Free(time, oldAddress, pid, tid, stack, AllocFunction.Realloc);
        return Alloc(time, newAddress, size, stack, weight, pid, tid, AllocFunction.Realloc);
    }

    public TestModel Counter(long time, long live, long peak, long peakTime, ulong allocations = 0, ulong allocatedBytes = 0,
        ulong frees = 0, ulong freedBytes = 0, uint pid = Pid, bool liveKnown = true)
    {
        _counters.Add(new HeapCounterSample(pid, time, allocations, allocatedBytes, frees, freedBytes, liveKnown, live, peak, peakTime));
        return this;
    }

    public TestModel Process(uint pid, string name, long? endNanos = null, int? exitCode = null, uint? parent = null)
    {
        _processes.Add(new ProcessInfo(pid, name, 0, endNanos, exitCode, [new ThreadInfo(pid, name)]) { ParentPid = parent });
        return this;
    }

    /// <param name="launched">Launched by memprof (else attached to a running process).</param>
    /// <param name="lostEvents">Events the collector reported lost.</param>
    public ProfileModel Build(long durationNanos = 10_000_000_000, bool launched = true, ulong lostEvents = 0, ulong untrackedSamples = 0)
    {
        var events = _events.OrderBy(e => e.Time).ToList(); // stable, as the model builder sorts
        var processes = _processes.Count > 0 ? _processes
            : events.Select(e => e.Pid).Append(Pid).Distinct().Order()
                .Select(pid => new ProcessInfo(pid, $"app{pid}", 0, null, null, [new ThreadInfo(pid, "main")])).ToList();
        return new ProfileModel
        {
            Info = new RecordingInfo(["app", "--flag"], Pid, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), durationNanos,
                "test", "test-mode", _samplingRate, launched, lostEvents, []) { UntrackedSamples = untrackedSamples },
            Tables = _tables,
            Processes = processes,
            Events = TestTables.Of(events.Select(e =>
                (new RawEvent(e.Kind, e.Time, e.Pid, e.Tid, e.Address, e.Size, e.Weight, 0, e.Function), e.Stack))),
            Counters = _counters.OrderBy(c => c.TimeNanos).ToList(),
        };
    }
}
