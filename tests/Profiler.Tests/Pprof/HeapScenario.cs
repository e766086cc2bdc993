using Profiler.Core.Model;

namespace Profiler.Tests.Pprof;

/// <summary>
/// A hand-made heap history and its ground truth: allocations on known stacks, some freed, and
/// for every pprof sample type what each leaf function must add up to. Weights default to the
/// size (sampling rate 1); a sampled event of weight w stands for w/size objects.
/// </summary>
sealed class HeapScenario
{
    public const string AppPath = "/usr/bin/app";
    public const string AppBuildId = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    public const string LibcPath = "/lib/x86_64-linux-gnu/libc.so.6";
    public const string LibcBuildId = "0badc0de0badc0de0badc0de0badc0de0badc0de";

    readonly List<(string Leaf, ulong Size, ulong Weight, bool Freed)> _allocations = [];
    readonly List<(uint Pid, ulong Address)> _frees = [];
    ulong _nextAddress = 0x10_0000;

    public HeapScenario()
    {
        App = Builder.Module(AppPath, AppBuildId);
        Libc = Builder.Module(LibcPath, LibcBuildId);
    }

    public ModelBuilder Builder { get; } = new();
    public ModuleId App { get; }
    public ModuleId Libc { get; }

    public TestFrame Main => new("main", App, 0x1100, 10, File: "src/main.c");
    public TestFrame Malloc => new("malloc", Libc, 0x9a010);
    public TestFrame In(string function, ulong address) => new(function, App, address);

    /// <summary>Records one allocation on <paramref name="stack"/>, whose innermost function outside
    /// the allocator (what pprof shows once it drops allocator frames) is <paramref name="leaf"/>.</summary>
    public void Alloc(string leaf, StackId stack, ulong size, bool freed = false, ulong? weight = null, uint pid = 100, uint? tid = null)
    {
        ulong address = _nextAddress += 0x100;
        Builder.Alloc(pid, address, size, stack, weight, tid);
        _allocations.Add((leaf, size, weight ?? size, freed));
        if (freed) _frees.Add((pid, address));
    }

    /// <summary>The model, with every freed allocation's free after all allocations.</summary>
    public ProfileModel Build(ulong samplingRate = 1)
    {
        foreach (var (pid, address) in _frees) Builder.Free(pid, address);
        return Builder.Build(samplingRate);
    }

    /// <summary>Ground truth: per leaf function, the value of one pprof sample type.</summary>
    public Dictionary<string, long> Expected(string sampleType)
    {
        bool inuse = sampleType.StartsWith("inuse", StringComparison.Ordinal);
        bool objects = sampleType.EndsWith("objects", StringComparison.Ordinal);
        return _allocations
            .Where(a => !inuse || !a.Freed)
            .GroupBy(a => a.Leaf)
            .Select(g => (g.Key, Value: objects
                ? (long)Math.Round(g.Sum(a => a.Size == 0 ? 1.0 : (double)a.Weight / a.Size))
                : g.Sum(a => (long)a.Weight)))
            .Where(x => x.Value != 0)
            .ToDictionary(x => x.Key, x => x.Value);
    }

    /// <summary>Two modules, four stacks (two through malloc), frees, and a free of something
    /// allocated before recording began, which must change nothing.</summary>
    public static HeapScenario KnownTotals()
    {
        var s = new HeapScenario();
        var b = s.Builder;
        b.Process(100, "app");
        var parse = b.Stack(s.Main, s.In("parse_input", 0x1200));
        var index = b.Stack(s.Main, s.In("build_index", 0x1300), s.Malloc);
        var grow = b.Stack(s.Main, s.In("build_index", 0x1310), s.In("grow_table", 0x1400));
        var direct = b.Stack(s.Main, s.Malloc);
        s.Alloc("parse_input", parse, 100);
        s.Alloc("parse_input", parse, 200, freed: true);
        s.Alloc("parse_input", parse, 300);
        s.Alloc("build_index", index, 1000);
        s.Alloc("build_index", index, 1000);
        s.Alloc("build_index", index, 24, freed: true);
        s.Alloc("grow_table", grow, 4096);
        s.Alloc("grow_table", grow, 8192, freed: true);
        s.Alloc("main", direct, 16, freed: true);
        s.Alloc("main", direct, 48);
        b.Free(100, 0xdead_0000);
        return s;
    }
}
