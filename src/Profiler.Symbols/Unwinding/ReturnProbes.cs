namespace Profiler.Symbols.Unwinding;

/// <summary>A return address the kernel replaced with its uretprobe trampoline: the stack slot that
/// now holds the trampoline's address, and the address that was there.</summary>
public readonly record struct ReturnAddressSubstitution(ulong StackSlot, ulong OriginalReturnAddress);

/// <summary>Pending return probes of the sampled thread: the `[uprobes]` trampoline mapping and what
/// is known of the return addresses it replaced. Default: no return probes.</summary>
public readonly ref struct ReturnProbes(ulong trampolineStart, ulong trampolineEnd, ReadOnlySpan<ReturnAddressSubstitution> substitutions)
{
    public ulong TrampolineStart { get; } = trampolineStart;

    public ulong TrampolineEnd { get; } = trampolineEnd;

    public ReadOnlySpan<ReturnAddressSubstitution> Substitutions { get; } = substitutions;

    public bool IsTrampoline(ulong address) => address >= TrampolineStart && address < TrampolineEnd;

    public bool TryGetOriginal(ulong stackSlot, out ulong original)
    {
        foreach (var substitution in Substitutions)
        {
            if (substitution.StackSlot == stackSlot)
            {
                original = substitution.OriginalReturnAddress;
                return true;
            }
        }
        original = 0;
        return false;
    }
}
