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
    /// <param name="leftMappings">The walk stopped at a return address outside every known
    /// executable mapping: code mapped since the maps were read (a library loaded late, or a
    /// runtime's JIT-compiled code in a region it just mapped) may be there.</param>
    int Unwind(int pid, ulong ip, ulong sp, ulong bp, ReadOnlySpan<byte> stack, Span<ulong> pcs, out bool truncated, out bool leftMappings);

    /// <summary>Whether a frame-pointer walk that ended on a zero frame pointer went only through
    /// frames that keep one (pcs leaf first, as the kernel walk gives them): a function without a
    /// frame pointer leaves rbp to whatever it holds, and a walk through it reads no frame
    /// records, so its end proves nothing.</summary>
    bool IsFramePointerChain(int pid, ReadOnlySpan<ulong> pcs);

    /// <summary>Problems worth telling the user once (modules without unwind info…).</summary>
    IReadOnlyList<string> Warnings { get; }
}
