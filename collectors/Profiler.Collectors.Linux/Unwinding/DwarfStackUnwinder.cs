using Profiler.Core.Model;
using Profiler.Symbols.Unwinding;

namespace Profiler.Collectors.Linux.Unwinding;

/// <summary>Unwinds copied stacks with the CFI unwinder; one instance per recorder (not thread-safe).</summary>
public sealed class DwarfStackUnwinder : IStackUnwinder
{
    readonly UnwindTableCache _tables = new();
    readonly StackUnwinder _unwinder;
    readonly Dictionary<int, (SortedModuleLookup Modules, (ulong Start, ulong End)? Trampoline)> _processes = [];

    public DwarfStackUnwinder() => _unwinder = new StackUnwinder(_tables);

    public IReadOnlyList<string> Warnings => _tables.Warnings;

    public void SetMaps(int pid, IReadOnlyList<MappedModule> modules, (ulong Start, ulong End)? uprobeTrampoline) =>
        _processes[pid] = (new SortedModuleLookup(modules), uprobeTrampoline);

    public int Unwind(int pid, ulong ip, ulong sp, ulong bp, ReadOnlySpan<byte> stack, Span<ulong> pcs, out bool truncated)
    {
        truncated = true;
        if (!_processes.TryGetValue(pid, out var process)) return 0;
        var registers = new UnwindRegisters(ip, sp, bp);
        var probes = process.Trampoline is { } t ? new ReturnProbes(t.Start, t.End, []) : default;
        var result = _unwinder.Unwind(registers, stack, sp, process.Modules, pcs, default, probes);
        truncated = !result.IsComplete;
        return result.FrameCount;
    }
}
