using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>A slot with the value read from it and the function its calls must reach: the
/// sampler forwards there, and <see cref="Found"/> is what a restore writes back.</summary>
public sealed record ResolvedSlot(GotSlot Slot, ulong Found, ulong Target)
{
    /// <summary>False for a lazy slot still pointing at its PLT stub (or at the executable's
    /// canonical PLT entry): its target was found by looking the symbol up.</summary>
    public bool Bound => Found == Target;
    public override string ToString() => $"{Slot}: 0x{Found:x} -> 0x{Target:x}";
}

/// <summary>The slots to redirect with their targets, in the plan's order, and the one function
/// the sampler forwards each symbol to.</summary>
public sealed record GotForwarding(IReadOnlyList<ResolvedSlot> Apply, IReadOnlyDictionary<string, ulong> Targets,
    IReadOnlyList<GotSkip> Skipped)
{
    public IReadOnlyList<ResolvedSlot> Restore => [.. Apply.Reverse()];
}

/// <summary>Works out what each slot pointed at before, which is where the sampler must forward
/// (redis-server's malloc slot holds libjemalloc's malloc, not glibc's). A value is believed only
/// when it is some module's exported definition of the slot's own symbol; anything else (a lazy
/// slot's PLT stub, the executable's canonical PLT entry that other modules are bound to, the
/// sampler from an earlier attach) is resolved by name. Forwarding to a PLT stub would let the
/// dynamic linker bind the slot over the redirection, or loop back into the sampler.</summary>
public static class GotOriginals
{
    /// <param name="found">Slot address → the 8 bytes read there (missing: unreadable).</param>
    /// <param name="lookupOrder">Module instances in the dynamic linker's search order (the link
    /// map's), used for slots not bound yet; see <see cref="GuessLookupOrder"/>.</param>
    public static GotForwarding Resolve(GotPlan plan, IReadOnlyDictionary<ulong, ulong> found,
        IReadOnlyList<ModuleInstance> lookupOrder)
    {
        var definers = plan.Modules.Where(m => m.Role != ModuleRole.Sampler).ToList();
        bool IsDefinition(string symbol, ulong value) =>
            definers.Any(m => m.Image.Exports.Any(e => e.Symbol == symbol && m.LoadBias + e.VirtualAddress == value));

        var samplers = plan.Modules.Where(m => m.Role == ModuleRole.Sampler).Select(m => m.Path).ToHashSet();
        bool InSampler(ulong value) => MappingOf(plan.Maps, value) is { } m &&
            (samplers.Contains(m.Path) || GotPlanner.RoleOf(m.Path, null) == ModuleRole.Sampler);

        var skipped = new List<GotSkip>();
        var candidates = new List<(GotSlot Slot, ulong Value, bool Bound)>();
        foreach (var slot in plan.Apply)
        {
            string module = slot.Module.Path;
            if (!found.TryGetValue(slot.Address, out ulong value))
                skipped.Add(new GotSkip(module, "cannot be read", slot));
            else if (InSampler(value))
                skipped.Add(new GotSkip(module, "already goes to the sampler; left as it is", slot));
            else if (IsDefinition(slot.Symbol, value))
                candidates.Add((slot, value, true));
            else if (MappingOf(plan.Maps, value) is { IsFile: true, IsExecutable: true })
                candidates.Add((slot, value, false));
            else
                skipped.Add(new GotSkip(module, $"holds 0x{value:x}, no function: its module is still being relocated", slot));
        }

        var targets = new Dictionary<string, ulong>();
        foreach (var symbol in candidates.Select(c => c.Slot.Symbol).Distinct())
        {
            var bound = candidates.Where(c => c.Slot.Symbol == symbol && c.Bound).Select(c => c.Value).ToList();
            ulong? lookup = Lookup(lookupOrder.Where(m => m.Role != ModuleRole.Sampler), symbol);
            ulong? chosen = bound.Distinct().Count() switch
            {
                0 => lookup,
                1 => bound[0],
                _ => lookup is { } l && bound.Contains(l) ? l : bound.GroupBy(v => v).MaxBy(g => g.Count())!.Key,
            };
            if (chosen is { } target) targets[symbol] = target;
        }

        var apply = new List<ResolvedSlot>();
        foreach (var (slot, value, bound) in candidates)
        {
            string module = slot.Module.Path;
            if (!targets.TryGetValue(slot.Symbol, out ulong target))
                skipped.Add(new GotSkip(module, $"no loaded module defines {slot.Symbol}", slot));
            else if (bound && value != target)
                skipped.Add(new GotSkip(module,
                    $"bound to another {slot.Symbol} (0x{value:x}, {MappingOf(plan.Maps, value)?.Path}) than the one the sampler forwards to (0x{target:x})", slot));
            else
                apply.Add(new ResolvedSlot(slot, value, target));
        }
        return new GotForwarding(apply, targets, skipped);
    }

    /// <summary>The search order when the link map cannot be read: the executable, the libraries
    /// as mapped, the dynamic linker last (old glibc's ld.so exports a minimal malloc of its own).</summary>
    public static IReadOnlyList<ModuleInstance> GuessLookupOrder(GotPlan plan, string executable) =>
    [
        .. plan.Modules.Where(m => m.Path == executable),
        .. plan.Modules.Where(m => m.Path != executable && m.Role == ModuleRole.Patched),
        .. plan.Modules.Where(m => m.Path != executable && m.Role == ModuleRole.DynamicLinker),
    ];

    /// <summary>The first default-version definition in search order, as the dynamic linker binds
    /// an unversioned or default reference.</summary>
    static ulong? Lookup(IEnumerable<ModuleInstance> order, string symbol)
    {
        foreach (var module in order)
            if (module.Image.Exports.FirstOrDefault(e => e.Symbol == symbol && e.IsDefault) is { } export)
                return module.LoadBias + export.VirtualAddress;
        return null;
    }

    static MapEntry? MappingOf(IReadOnlyList<MapEntry> maps, ulong address) =>
        maps.FirstOrDefault(m => address >= m.Start && address < m.End);
}
