using Profiler.Core.Model;

namespace Profiler.Collectors.Linux.Unwinding;

/// <summary>Turns a sample's registers and copied stack into return addresses (DWARF CFI), per
/// process, from the module maps the recorder keeps current.</summary>
public interface IStackUnwinder
{
    /// <param name="uprobeTrampoline">The kernel's [uprobes] mapping, where pending return probes
    /// send returns; such addresses are not frames.</param>
    void SetMaps(int pid, IReadOnlyList<MappedModule> modules, (ulong Start, ulong End)? uprobeTrampoline);

    /// <returns>The number of pcs written, leaf first.</returns>
    int Unwind(int pid, ulong ip, ulong sp, ulong bp, ReadOnlySpan<byte> stack, Span<ulong> pcs, out bool truncated);

    /// <summary>Problems worth telling the user once (modules without unwind info…).</summary>
    IReadOnlyList<string> Warnings { get; }
}
