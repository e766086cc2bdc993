using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Tests.Model;

namespace Profiler.Tests.Pprof;

/// <summary>One frame of a hand-made stack. Frames of one inlined group share module and address;
/// depth 0 is the outermost function of the group.</summary>
sealed record TestFrame(string Function, ModuleId? Module, ulong Address, int? Line = null, int InlineDepth = 0, string? File = null);

/// <summary>Builds a <see cref="ProfileModel"/> by hand, so each test knows exactly what it holds.</summary>
sealed class ModelBuilder
{
    readonly List<(EventKind Kind, uint Pid, uint Tid, ulong Address, ulong Size, ulong Weight, StackId Stack)> _events = [];
    readonly List<ProcessInfo> _processes = [];

    public CallTreeTables Tables { get; } = new();

    public ModuleId Module(string path, string buildId) => Tables.InternModule(path, buildId);

    /// <summary>Interns a stack given from the root (outermost caller) to the leaf.</summary>
    public StackId Stack(params TestFrame[] rootToLeaf)
    {
        var stack = StackId.None;
        foreach (var f in rootToLeaf)
        {
            var function = Tables.InternFunction(f.Function, f.Module, f.File, null);
            stack = Tables.InternStack(stack, Tables.InternFrame(function, f.Module, f.Address, f.Line, f.InlineDepth));
        }
        return stack;
    }

    public ModelBuilder Process(uint pid, string name, params (uint Tid, string Name)[] threads)
    {
        _processes.Add(new ProcessInfo(pid, name, 0, null, null,
            threads.Length == 0 ? [new ThreadInfo(pid, name)] : threads.Select(t => new ThreadInfo(t.Tid, t.Name)).ToList()));
        return this;
    }

    public void Alloc(uint pid, ulong address, ulong size, StackId stack, ulong? weight = null, uint? tid = null) =>
        _events.Add((EventKind.Alloc, pid, tid ?? pid, address, size, weight ?? size, stack));

    public void Free(uint pid, ulong address) => _events.Add((EventKind.Free, pid, pid, address, 0, 0, StackId.None));

    public ProfileModel Build(ulong samplingRate = 1, string[]? command = null)
    {
        int n = _events.Count;
        return new ProfileModel
        {
            Info = new RecordingInfo(command ?? ["/usr/bin/app", "--input", "a file"], _processes.FirstOrDefault()?.Pid ?? 1,
                new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1234), 2_500_000_000, "test", "hand-made",
                samplingRate, true, 0, []),
            Tables = Tables,
            Processes = _processes,
            Events = TestTables.Of(_events.Select((e, i) => (new RawEvent(e.Kind, 1000L * i, e.Pid, e.Tid, e.Address, e.Size, e.Weight, 0,
                e.Kind == EventKind.Free ? AllocFunction.FreeFunction : AllocFunction.Malloc), e.Stack))),
        };
    }
}
