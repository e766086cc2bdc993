using Profiler.Collectors.Linux.Procfs;
using Profiler.Collectors.Linux.Probes;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Why a module takes part: its slots are redirected, or it is only looked at (the
/// dynamic linker's and the sampler's slots are never touched).</summary>
public enum ModuleRole { Patched, DynamicLinker, Sampler }

/// <summary>One loaded copy of a file: a file mapped twice (two link-map namespaces) is two.</summary>
public sealed record ModuleInstance(string Path, ulong LoadBias, ModuleRole Role, GotImage Image);

/// <summary>A word of the process to redirect: <paramref name="Address"/> = load bias + r_offset.</summary>
public sealed record GotSlot(ModuleInstance Module, GotReference Reference, ulong Address)
{
    public AllocatorApi.Entry Api => Reference.Api;
    public string Symbol => Reference.Symbol;
    public bool OnlyFrees => GotFamily.OnlyFrees(Reference.Api);
    public override string ToString() =>
        $"{System.IO.Path.GetFileName(Module.Path)}: {Symbol} ({Reference.Kind}) at 0x{Address:x}";
}

/// <summary>A module or a slot that is left alone, and why.</summary>
public sealed record GotSkip(string Module, string Reason, GotSlot? Slot = null)
{
    public override string ToString() => Slot is null ? $"{Module}: {Reason}" : $"{Slot}: {Reason}";
}

/// <summary>Which slots to redirect, in the order to do it: every module's free-only slots first,
/// then the allocation slots. <see cref="Restore"/> is the reverse.</summary>
/// <param name="Modules">Every loaded module instance, those left alone included (their exports
/// still tell what a slot may be bound to).</param>
/// <param name="Maps">The mappings the plan was made from.</param>
public sealed record GotPlan(IReadOnlyList<GotSlot> Apply, IReadOnlyList<GotSkip> Skipped,
    IReadOnlyList<ModuleInstance> Modules, IReadOnlyList<MapEntry> Maps)
{
    public IReadOnlyList<GotSlot> Restore => [.. Apply.Reverse()];
}
