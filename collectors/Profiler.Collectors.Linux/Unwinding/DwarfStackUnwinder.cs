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

    public bool IsFramePointerChain(int pid, ReadOnlySpan<ulong> pcs)
    {
        if (!_processes.TryGetValue(pid, out var process) || pcs.Length < 2) return false;
        // The leaf is the probed function (its rbp is still its caller's). Every frame between was
        // walked through, so must keep a frame pointer; the outermost one had rbp = 0, which only
        // _start and a thread's start set up (their CFI leaves the return address undefined).
        for (int i = 1; i < pcs.Length - 1; i++)
            if (_unwinder.RoleInFramePointerWalk(pcs[i], process.Modules) is FramePointerRole.NoFramePointer or FramePointerRole.Outermost)
                return false;
        return _unwinder.RoleInFramePointerWalk(pcs[^1], process.Modules) is FramePointerRole.Outermost or null;
    }

    public int Unwind(int pid, ulong ip, ulong sp, ulong bp, ReadOnlySpan<byte> stack, Span<ulong> pcs, out bool truncated, out bool leftMappings)
    {
        truncated = true;
        leftMappings = false;
        if (!_processes.TryGetValue(pid, out var process)) return 0;
        var registers = new UnwindRegisters(ip, sp, bp);
        var probes = process.Trampoline is { } t ? new ReturnProbes(t.Start, t.End, []) : default;
        var result = _unwinder.Unwind(registers, stack, sp, process.Modules, pcs, default, probes);
        truncated = !result.IsComplete;
        leftMappings = result.End == UnwindEnd.OutsideModules;
        return result.FrameCount;
    }
}
