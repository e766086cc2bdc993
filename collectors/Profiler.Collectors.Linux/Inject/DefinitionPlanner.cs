using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>An allocator's exported definition whose st_value is pointed at the sampler's entry for
/// it: the dynamic linker binds every reference it resolves from then on — the relocations of a
/// library dlopen'ed after the attach, before its first constructor runs, a lazy slot's first
/// call, dlsym — to the sampler, which forwards to <see cref="Function"/>.</summary>
/// <param name="Address">Where st_value lies in the process.</param>
/// <param name="Found">st_value as the file has it (the function's link-time address).</param>
/// <param name="Written">The value that makes load bias + st_value the sampler's entry.</param>
/// <param name="Function">The allocator's function (load bias + <see cref="Found"/>).</param>
/// <param name="Entry">The sampler's entry point forwarding to it.</param>
public sealed record DefinitionRedirect(ModuleInstance Module, string Symbol, ulong Address, ulong Found, ulong Written,
    ulong Function, ulong Entry)
{
    public GotPhase Phase => GotFamily.Find(Symbol) is { } api && GotFamily.OnlyFrees(api) ? GotPhase.Frees : GotPhase.Allocations;
    public override string ToString() => $"{System.IO.Path.GetFileName(Module.Path)}: {Symbol} definition at 0x{Address:x}";
}

/// <summary>Decides which definitions to redirect: those of the allocators the forwarding tables
/// serve, each to the entry of the table that forwards to exactly that definition, free-only
/// functions first (so a sampled block a late library allocates is never freed unseen). Pure.</summary>
public static class DefinitionPlanner
{
    /// <param name="entry">The sampler's entry point for (table, function), or null.</param>
    public static (IReadOnlyList<DefinitionRedirect> Apply, IReadOnlyList<GotSkip> Skipped) Plan(GotPlan plan, IReadOnlyList<TableUse> tables,
        Func<int, string, ulong?> entry)
    {
        var apply = new List<DefinitionRedirect>();
        var skipped = new List<GotSkip>();
        foreach (var table in tables)
        {
            foreach (var module in plan.Modules.Where(m => m.Path == table.Module && m.Role == ModuleRole.Patched))
            {
                foreach (var export in module.Image.Exports.Where(e => e.IsDefault))
                {
                    ulong function = module.LoadBias + export.VirtualAddress;
                    // Another copy of the module (a second namespace) or another table's allocator.
                    if (table.Functions.Functions.GetValueOrDefault(export.Symbol) != function) continue;
                    if (entry(table.Table, export.Symbol) is not { } target) continue;
                    if (export is not { ValueAddress: { } value, ValueFileOffset: { } offset })
                    {
                        skipped.Add(new GotSkip(module.Path, $"{export.Symbol}: its symbol table cannot be found (no section headers)"));
                        continue;
                    }
                    ulong address = module.LoadBias + value;
                    if (!MappedAsInFile(plan.Maps, module.Path, address, offset))
                    {
                        skipped.Add(new GotSkip(module.Path, $"{export.Symbol}: the process does not map its symbol table as the file has it"));
                        continue;
                    }
                    apply.Add(new DefinitionRedirect(module, export.Symbol, address, export.VirtualAddress,
                        unchecked(target - module.LoadBias), function, target));
                }
            }
        }
        return ([.. apply.OrderBy(d => d.Phase == GotPhase.Allocations)], skipped);
    }

    static bool MappedAsInFile(IReadOnlyList<MapEntry> maps, string path, ulong address, ulong fileOffset) =>
        maps.Any(m => m.Path == path && address >= m.Start && address <= m.End - 8 && m.FileOffset + (address - m.Start) == fileOffset);
}
