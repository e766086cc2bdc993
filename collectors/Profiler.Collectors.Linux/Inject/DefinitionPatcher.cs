namespace Profiler.Collectors.Linux.Inject;

/// <summary>What redirecting definitions did: those now pointing at the sampler (a definition an
/// earlier, killed recording left redirected is taken over as it is), and those left alone.</summary>
public sealed record DefinitionPatch(IReadOnlyList<DefinitionRedirect> Applied, IReadOnlyList<GotSkip> Skipped, string? Failure);

/// <summary>Writes and restores definitions' st_value words (through /proc/PID/mem, which writes
/// past the page's read-only protection into a private copy). Like <see cref="GotPatcher"/>, call it
/// with the process's threads stopped: a lookup reading a torn word would bind to garbage.</summary>
public sealed class DefinitionPatcher(IProcessMemory memory)
{
    /// <summary>Redirects in the plan's order (frees first); a write that does not read back
    /// undoes everything written.</summary>
    public DefinitionPatch Apply(IReadOnlyList<DefinitionRedirect> plan)
    {
        var applied = new List<DefinitionRedirect>();
        var skipped = new List<GotSkip>();
        foreach (var definition in plan)
        {
            ulong? now = memory.ReadWord(definition.Address);
            if (now == definition.Written) { applied.Add(definition); continue; }
            if (now != definition.Found)
            {
                skipped.Add(new GotSkip(definition.Module.Path, $"{definition.Symbol}: st_value is 0x{now:x}, not the file's 0x{definition.Found:x}"));
                continue;
            }
            if (!memory.WriteWord(definition.Address, definition.Written) || memory.ReadWord(definition.Address) != definition.Written)
            {
                if (memory.ReadWord(definition.Address) == definition.Written) applied.Add(definition);
                var left = Restore(applied).Failed;
                return new DefinitionPatch(left, skipped, $"{definition} cannot be written" +
                    (left.Count == 0 ? "" : $"; {left.Count} definitions could not be put back"));
            }
            applied.Add(definition);
        }
        return new DefinitionPatch(applied, skipped, null);
    }

    /// <summary>Puts back the file's st_value, allocations before frees, where the word still holds
    /// the sampler's value.</summary>
    public (IReadOnlyList<DefinitionRedirect> Restored, IReadOnlyList<DefinitionRedirect> Failed) Restore(
        IReadOnlyList<DefinitionRedirect> applied, GotPhase? phase = null)
    {
        var restored = new List<DefinitionRedirect>();
        var failed = new List<DefinitionRedirect>();
        foreach (var definition in applied.Reverse().Where(d => phase is null || d.Phase == phase).OrderBy(d => d.Phase == GotPhase.Frees))
        {
            if (memory.ReadWord(definition.Address) != definition.Written) continue;
            if (memory.WriteWord(definition.Address, definition.Found) && memory.ReadWord(definition.Address) == definition.Found)
                restored.Add(definition);
            else failed.Add(definition);
        }
        return (restored, failed);
    }
}

/// <summary>Slots that came to hold a sampler entry after the attach — bound through a redirected
/// definition (a library loaded later, a lazy slot's first call) — found again at detach by their
/// value, each with the allocator function it is put back to. Pure.</summary>
public static class LateSlots
{
    /// <param name="values">Slot address → the value read there now.</param>
    /// <param name="entries">Sampler entry → the allocator function it forwards to.</param>
    /// <param name="patched">Slots the attach itself redirected (restored from their own record).</param>
    public static IReadOnlyList<PatchedSlot> Find(GotPlan now, IReadOnlyDictionary<ulong, ulong> values,
        IReadOnlyDictionary<ulong, ulong> entries, IReadOnlySet<ulong> patched)
    {
        var late = new List<PatchedSlot>();
        foreach (var slot in now.Apply)
        {
            if (patched.Contains(slot.Address) || !values.TryGetValue(slot.Address, out ulong value)) continue;
            if (!entries.TryGetValue(value, out ulong function)) continue;
            late.Add(new PatchedSlot(new ResolvedSlot(slot, function, function), function, value));
        }
        return late;
    }

    /// <summary>Every slot holding a sampler entry, except those still holding the entry
    /// <paramref name="own"/> says the attach wrote there (address → entry): those are restored
    /// from their own record, to what they held before (a lazy slot's stub).</summary>
    public static IReadOnlyList<PatchedSlot> Redirected(GotPlan now, IReadOnlyDictionary<ulong, ulong> values,
        IReadOnlyDictionary<ulong, ulong> entries, IReadOnlyDictionary<ulong, ulong> own) =>
        Find(now, values, entries, own.Where(s => values.TryGetValue(s.Key, out ulong value) && value == s.Value).Select(s => s.Key).ToHashSet());
}
