namespace Profiler.Collectors.Linux.Inject;

/// <summary>Which half of a patch: slots of functions that only free, or the others.</summary>
public enum GotPhase { Frees, Allocations }

/// <summary>A slot as written: <see cref="Found"/> is put back on restore, if the slot still
/// holds <see cref="Written"/>.</summary>
public sealed record PatchedSlot(ResolvedSlot Slot, ulong Found, ulong Written)
{
    public GotPhase Phase => Slot.Slot.OnlyFrees ? GotPhase.Frees : GotPhase.Allocations;
}

/// <param name="Applied">The slots now redirected, in the order they were written.</param>
/// <param name="Failure">Why the patch was abandoned, or null. Everything written was put back;
/// <see cref="Applied"/> then lists only slots that could not be.</param>
public sealed record GotPatch(IReadOnlyList<PatchedSlot> Applied, IReadOnlyList<GotSkip> Skipped, string? Failure);

/// <param name="Restored">Slots written back to what they held before.</param>
/// <param name="LeftAlone">Slots that no longer held the sampler's address (the program stored
/// something else there): not written, since that value is the program's now.</param>
public sealed record GotRestore(IReadOnlyList<PatchedSlot> Restored, IReadOnlyList<PatchedSlot> LeftAlone,
    IReadOnlyList<PatchedSlot> Failed);

/// <summary>Reads, redirects and restores the slots of one process, in the order the plan gives.
/// Writes to /proc/PID/mem are not guaranteed to be one 8-byte store (the kernel copies with
/// rep movsb where it is fast), so a thread calling through a slot while it changes could jump to
/// a torn address: call Apply and Restore with the process's threads stopped (a stop at a known
/// point, never inside the dynamic linker: see <see cref="LinkMap.State"/>).</summary>
public sealed class GotPatcher(IProcessMemory memory)
{
    /// <summary>Slot address → the value it holds now; unreadable slots are missing.</summary>
    public IReadOnlyDictionary<ulong, ulong> Read(GotPlan plan)
    {
        var values = new Dictionary<ulong, ulong>();
        foreach (var slot in plan.Apply)
            if (memory.ReadWord(slot.Address) is { } value) values[slot.Address] = value;
        return values;
    }

    /// <summary>Writes each slot's replacement in the forwarding's order (frees first), reading
    /// every slot again just before and checking it after. A slot that changed since it was
    /// resolved is redirected only if the dynamic linker bound it to the very target the sampler
    /// forwards to; otherwise it is skipped. A write that does not read back abandons the whole
    /// patch: what was written is restored, so the process is never left half redirected.</summary>
    /// <param name="replacement">The sampler's function for a slot (by its API).</param>
    public GotPatch Apply(GotForwarding forwarding, Func<ResolvedSlot, ulong> replacement)
    {
        var applied = new List<PatchedSlot>();
        var skipped = new List<GotSkip>();
        foreach (var slot in forwarding.Apply)
        {
            string module = slot.Slot.Module.Path;
            if (memory.ReadWord(slot.Slot.Address) is not { } now)
                return Abandon(applied, skipped, $"{slot.Slot} can no longer be read");
            if (now != slot.Found && now != slot.Target)
            {
                skipped.Add(new GotSkip(module, $"changed to 0x{now:x} since it was read", slot.Slot));
                continue;
            }
            ulong written = replacement(slot);
            if (!memory.WriteWord(slot.Slot.Address, written) || memory.ReadWord(slot.Slot.Address) != written)
            {
                // The write may have landed or not: put back whatever it now holds wrongly.
                if (memory.ReadWord(slot.Slot.Address) == written) applied.Add(new PatchedSlot(slot, now, written));
                return Abandon(applied, skipped, $"{slot.Slot} cannot be written");
            }
            applied.Add(new PatchedSlot(slot, now, written));
        }
        return new GotPatch(applied, skipped, null);
    }

    /// <summary>Puts back one phase's slots (or all, allocations first), in reverse order of
    /// writing. Detach restores the allocation slots, waits for the sampled blocks to be freed
    /// (or for a bound), then restores the free slots.</summary>
    public GotRestore Restore(GotPatch patch, GotPhase? phase = null)
    {
        var restored = new List<PatchedSlot>();
        var leftAlone = new List<PatchedSlot>();
        var failed = new List<PatchedSlot>();
        foreach (var slot in patch.Applied.Reverse().Where(s => phase is null || s.Phase == phase).OrderBy(s => s.Phase == GotPhase.Frees))
        {
            ulong? now = memory.ReadWord(slot.Slot.Slot.Address);
            if (now != slot.Written) leftAlone.Add(slot);
            else if (memory.WriteWord(slot.Slot.Slot.Address, slot.Found) && memory.ReadWord(slot.Slot.Slot.Address) == slot.Found)
                restored.Add(slot);
            else failed.Add(slot);
        }
        return new GotRestore(restored, leftAlone, failed);
    }

    /// <summary>Redirected slots that no longer hold the sampler's address: bound over by a lazy
    /// resolution that was under way while they were written, or changed by the program.</summary>
    public IReadOnlyList<PatchedSlot> Lost(GotPatch patch) =>
        [.. patch.Applied.Where(s => memory.ReadWord(s.Slot.Slot.Address) != s.Written)];

    GotPatch Abandon(List<PatchedSlot> applied, List<GotSkip> skipped, string failure)
    {
        var rollback = Restore(new GotPatch(applied, skipped, null));
        string unrestored = rollback.Failed.Count == 0 ? "" : $"; {rollback.Failed.Count} slots could not be put back";
        return new GotPatch(rollback.Failed, skipped, failure + unrestored);
    }
}
