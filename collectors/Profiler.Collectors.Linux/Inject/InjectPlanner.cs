using Profiler.Collectors.Linux.Preload;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>A forwarding table as the library in the process holds it now (a leftover library's
/// tables may be in use: a slot of an earlier attach can still point at them).</summary>
public sealed record ExistingTable(ForwardKind Kind, IReadOnlyList<ulong> Functions);

/// <summary>One allocator's table: <paramref name="Reused"/> when the process already holds
/// exactly these functions there (nothing is written then).</summary>
public sealed record TableUse(int Table, string Module, ForwardTable Functions, bool Reused);

/// <summary>What attaching by injection writes: the tables, each slot's table, and the state writes
/// in the order the library requires (every table's pointers, then its kind; then the request).</summary>
public sealed record InjectPlan(IReadOnlyList<TableUse> Tables, IReadOnlyDictionary<ulong, int> SlotTable,
    IReadOnlyList<StateWrite> Writes, IReadOnlyList<GotSkip> Skipped)
{
    /// <summary>The sampler's entry point a slot is pointed at.</summary>
    public string EntryPoint(ResolvedSlot slot) => InjectLibrary.EntryPoint(SlotTable[slot.Slot.Address], slot.Slot.Symbol);
}

/// <summary>Decides, from a process's resolved slots, which forwarding table serves each allocator
/// (glibc, a loaded libjemalloc, anything else) and what to write to set them up. Pure.</summary>
public static class InjectPlanner
{
    /// <summary>The allocator a module is: glibc's libc, a libjemalloc, or another.</summary>
    public static ForwardKind KindOf(string modulePath)
    {
        string name = Path.GetFileName(modulePath);
        if (PreloadLibrary.IsGlibcLibrary(modulePath) || name.StartsWith("libc.so", StringComparison.Ordinal)) return ForwardKind.Glibc;
        if (name.Contains("jemalloc", StringComparison.Ordinal)) return ForwardKind.Jemalloc;
        return ForwardKind.Other;
    }

    /// <param name="existing">The library's four tables as read from the process.</param>
    /// <param name="helper">The absolute address of a function a module exports by name
    /// (malloc_usable_size, mallinfo2, mallctl), or null.</param>
    /// <param name="rateBytes">The recording's rate.</param>
    public static InjectPlan Plan(GotPlan plan, GotForwarding forwarding, IReadOnlyList<ExistingTable> existing,
        PreloadHeader header, ulong rateBytes, Func<ModuleInstance, string, ulong?> helper)
    {
        var skipped = new List<GotSkip>();
        var byModule = new Dictionary<ModuleInstance, List<ResolvedSlot>>();
        foreach (var slot in forwarding.Apply)
        {
            var module = plan.Modules.FirstOrDefault(m => m.Role != ModuleRole.Sampler &&
                m.Image.Exports.Any(e => e.Symbol == slot.Slot.Symbol && m.LoadBias + e.VirtualAddress == slot.Target));
            if (module is null) { skipped.Add(new GotSkip(slot.Slot.Module.Path, "its target is no module's export", slot.Slot)); continue; }
            if (!byModule.TryGetValue(module, out var list)) byModule[module] = list = [];
            list.Add(slot);
        }

        var tables = new List<TableUse>();
        var slotTable = new Dictionary<ulong, int>();
        var writes = new List<StateWrite>();
        var taken = new HashSet<int>();
        // The allocator with most slots first: when tables run out, the main allocator has one.
        foreach (var (module, slots) in byModule.OrderByDescending(g => g.Value.Count))
        {
            var kind = KindOf(module.Path);
            var functions = new Dictionary<string, ulong>();
            // Every family function the module exports, so that an entry point that calls another
            // (reallocarray resizes through realloc) stays within the same allocator.
            foreach (var export in module.Image.Exports.Where(e => e.IsDefault))
                functions.TryAdd(export.Symbol, module.LoadBias + export.VirtualAddress);
            foreach (var slot in slots) functions[slot.Slot.Symbol] = slot.Target;
            var wanted = new ForwardTable(kind, functions, helper(module, "malloc_usable_size") ?? 0,
                kind == ForwardKind.Glibc ? helper(module, "mallinfo2") ?? 0 : 0,
                kind == ForwardKind.Jemalloc ? helper(module, "mallctl") ?? 0 : 0);
            int index = Matching(existing, wanted, taken);
            bool reused = index >= 0;
            if (!reused) index = Enumerable.Range(0, existing.Count).FirstOrDefault(i => !taken.Contains(i) && existing[i].Kind == ForwardKind.None, -1);
            if (index < 0)
            {
                foreach (var slot in slots) skipped.Add(new GotSkip(slot.Slot.Module.Path, "the sampler has no forwarding table left for its allocator", slot.Slot));
                continue;
            }
            taken.Add(index);
            tables.Add(new TableUse(index, module.Path, wanted, reused));
            if (!reused) writes.AddRange(InjectLibrary.FillTable(index, wanted));
            foreach (var slot in slots) slotTable[slot.Slot.Address] = index;
        }
        writes.AddRange(InjectLibrary.Request(header, rateBytes));
        return new InjectPlan(tables, slotTable, writes, skipped);
    }

    /// <summary>A filled table holding the same kind and functions (an earlier attach's): reused,
    /// since a table a slot may point at is never written again.</summary>
    static int Matching(IReadOnlyList<ExistingTable> existing, ForwardTable wanted, HashSet<int> taken)
    {
        for (int i = 0; i < existing.Count; i++)
        {
            if (taken.Contains(i) || existing[i].Kind != wanted.Kind) continue;
            bool same = true;
            for (int f = 0; f < InjectLibrary.Functions.Count && f < existing[i].Functions.Count; f++)
                if (existing[i].Functions[f] != wanted.Functions.GetValueOrDefault(InjectLibrary.Functions[f])) { same = false; break; }
            if (same) return i;
        }
        return -1;
    }

    /// <summary>Each entry point of a filled table (its address, from <paramref name="entry"/>) → the
    /// function it forwards to: where a slot left pointing at it goes back to.</summary>
    public static IReadOnlyDictionary<ulong, ulong> EntryTargets(IReadOnlyList<ExistingTable> tables, Func<int, string, ulong?> entry)
    {
        var targets = new Dictionary<ulong, ulong>();
        for (int t = 0; t < tables.Count; t++)
        {
            if (tables[t].Kind == ForwardKind.None) continue;
            for (int f = 0; f < InjectLibrary.Functions.Count && f < tables[t].Functions.Count; f++)
                if (tables[t].Functions[f] != 0 && entry(t, InjectLibrary.Functions[f]) is { } address) targets[address] = tables[t].Functions[f];
        }
        return targets;
    }

    /// <summary>Decodes the four tables from the state's header bytes.</summary>
    public static IReadOnlyList<ExistingTable> ReadTables(ReadOnlySpan<byte> header)
    {
        var tables = new List<ExistingTable>();
        for (int t = 0; t < PreloadState.Tables; t++)
        {
            int at = InjectLibrary.TableOffset(t);
            var kind = (ForwardKind)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(header[at..]);
            var functions = new List<ulong>();
            for (int f = 0; f < InjectLibrary.Functions.Count; f++)
                functions.Add(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(header[(at + 8 + 8 * f)..]));
            tables.Add(new ExistingTable(kind, functions));
        }
        return tables;
    }
}
