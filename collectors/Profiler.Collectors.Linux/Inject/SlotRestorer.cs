using System.Diagnostics;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Puts an injected process's allocator calls back where they went before the attach:
/// allocations first, then (after a grace for sampled blocks to be freed through the sampler) frees.
/// In each phase the definitions go back first, so that nothing binds to the sampler any more,
/// then every slot that goes to it: those the attach wrote, from their record, and any other found
/// holding a sampler entry. Each step runs with the threads stopped; a stop that fails (a thread
/// slow to stop on a loaded machine, another tracer on one of them) is tried again for up to
/// <see cref="Deadline"/>: a slot left redirected sends the program through a sampler nobody reads.
/// At the end no slot may hold a sampler entry; what does is said.</summary>
/// <param name="redirected">Slots holding a sampler entry now, with the allocator function each goes
/// back to, except those listed (address → the entry the attach wrote there, restored from their own record).</param>
/// <param name="alive">Whether the process still runs (a process gone has nothing to restore).</param>
public sealed class SlotRestorer(int pid, IProcessMemory memory, IThreadFreezer freezer, GotPatch patch,
    IReadOnlyList<DefinitionRedirect> definitions,
    Func<IReadOnlyDictionary<ulong, ulong>, IReadOnlyList<PatchedSlot>> redirected, Func<bool> alive)
{
    /// <summary>How long a step keeps trying to stop the threads.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    /// <summary>The first try's bound; each next try's grows by as much.</summary>
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);
    static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(50);

    /// <summary>The time since an arbitrary start, and a pause (a fake clock in tests).</summary>
    public Func<TimeSpan>? Clock { get; init; }
    public Action<TimeSpan> Sleep { get; init; } = Thread.Sleep;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    TimeSpan Now() => Clock?.Invoke() ?? _clock.Elapsed;

    /// <summary>Restores both phases; returns what could not be restored (null: everything, or the
    /// process is gone).</summary>
    public string? Restore(TimeSpan freeGrace)
    {
        var failures = new List<string>();
        foreach (var phase in new[] { GotPhase.Allocations, GotPhase.Frees })
        {
            if (phase == GotPhase.Frees) Sleep(freeGrace);
            var (failure, notStopped, gone) = RestorePhase(phase);
            if (gone) return null;
            if (failure is not null) failures.Add(failure);
            // Frees stay redirected as long as allocations do: a sampled block must be freed through the sampler.
            if (notStopped && phase == GotPhase.Allocations) break;
        }
        if (failures.Count == 0)
        {
            int left = redirected(new Dictionary<ulong, ulong>()).Count;
            if (left > 0) failures.Add($"{left} slots still go to the sampler after the restore");
        }
        return failures.Count == 0 ? null : string.Join("; ", failures);
    }

    /// <summary>One phase: its failure, whether that is threads that could not be stopped, and
    /// whether the process ended meanwhile.</summary>
    (string? Failure, bool NotStopped, bool Gone) RestorePhase(GotPhase phase)
    {
        string name = phase.ToString().ToLowerInvariant();
        var (restoredDefinitions, refused, gone) = Frozen(() => new DefinitionPatcher(memory).Restore(definitions, phase));
        if (gone) return (null, false, true);
        if (refused is not null) return ($"{name} definitions left redirected ({refused})", true, false);
        var failures = new List<string>();
        if (restoredDefinitions.Failed.Count > 0) failures.Add($"{restoredDefinitions.Failed.Count} {name} definitions could not be restored");

        // Found with the threads running (reading every module's file takes a while); each slot is
        // written only if it still holds what was found.
        var own = patch.Applied.ToDictionary(s => s.Slot.Slot.Address, s => s.Written);
        var others = redirected(own);
        var (restore, slotsRefused, ended) = Frozen(() =>
        {
            var patcher = new GotPatcher(memory);
            var mine = patcher.Restore(patch, phase);
            var later = patcher.Restore(new GotPatch(others, [], null), phase);
            return new GotRestore([.. mine.Restored, .. later.Restored], [.. mine.LeftAlone, .. later.LeftAlone], [.. mine.Failed, .. later.Failed]);
        });
        if (ended) return (null, false, true);
        if (slotsRefused is not null) return (string.Join("; ", [.. failures, $"{name} slots left redirected ({slotsRefused})"]), true, false);
        if (restore.Failed.Count > 0) failures.Add($"{restore.Failed.Count} {name} slots could not be restored");
        return (failures.Count == 0 ? null : string.Join("; ", failures), false, false);
    }

    (T Result, string? Failure, bool Gone) Frozen<T>(Func<T> action)
    {
        var start = Now();
        for (int attempt = 1; ; attempt++)
        {
            // Each try waits longer for the threads: the load that slowed one may last.
            var left = Deadline - (Now() - start);
            var (result, failure) = freezer.Frozen(pid, action, Bound * attempt < left ? Bound * attempt : left > Bound ? left : Bound);
            if (failure is null) return (result!, null, false);
            if (!alive()) return (default!, failure, true);
            if (Now() - start >= Deadline) return (default!, failure, false);
            Sleep(Pause);
        }
    }
}
