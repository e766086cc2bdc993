using System.Diagnostics;
using Profiler.Collectors.Linux.Preload;
using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>A process whose allocator calls go through the injected sampler; <see cref="Detach"/>
/// puts its slots back (allocations first, frees after a bound) and leaves the library loaded.</summary>
public sealed class InjectedProcess(int pid, ProcMemory memory, ulong state, ulong rateBytes, GotPatch patch, LateBinding late,
    IThreadFreezer freezer, string summary, InjectedRings rings)
    : Session.IInjectedProcess
{
    public int Pid => pid;
    /// <summary>One line for the recording's mode: what was redirected.</summary>
    public string Summary => summary;
    public GotPatch Patch => patch;
    public bool UsesRings => rings.InUse;
    public string? RingsRefusal => rings.Refusal;
    bool _detached;
    string? _unrestored;

    /// <summary>After memprof's last drain: the library stops writing into the rings and unmaps
    /// them (at a safe point), so that neither the mapping nor its pages stay in the process.
    /// Returns why not (null: done); an attach later unmaps them then.</summary>
    public string? ReleaseRings() => rings.InUse ? rings.Release(pid, memory) : null;

    /// <summary>Asks the library to sample at the recording's rate and start counting again (at the
    /// next allocation call): every slot goes through it and the markers are probed, so nothing
    /// from here on is missed. Until then it counted without sampling (<see cref="InjectLibrary.NotSampling"/>).</summary>
    public string? StartCounting()
    {
        var header = new byte[PreloadState.HeaderSize];
        if (!memory.TryRead(state, header) || PreloadState.DecodeHeader(header) is not { } now) return "the library's state cannot be read";
        foreach (var write in InjectLibrary.Request(now, rateBytes))
            if (!memory.TryWrite(state + (ulong)write.Offset, InjectLibrary.Bytes(write))) return "the library's request cannot be written";
        return null;
    }

    /// <summary>How long sampled blocks are given to be freed through the sampler (their frees
    /// recorded) between restoring the allocation slots and the free slots.</summary>
    public static readonly TimeSpan FreeGrace = TimeSpan.FromMilliseconds(200);

    /// <summary>Restores every slot still pointing at the sampler; returns what could not be (null:
    /// all, or the process is gone). Once it has run to its end, later calls return the same.</summary>
    public string? Detach()
    {
        if (_detached) return _unrestored;
        var restorer = new SlotRestorer(pid, memory, freezer, patch, late.Definitions,
            own => late.Find(pid, memory, own), () => Procfs.ProcessState.IsAlive(pid));
        _unrestored = restorer.Restore(FreeGrace);
        _detached = true;
        return _unrestored;
    }

    public void Dispose()
    {
        try { Detach(); } catch (Exception) { /* the process may be gone */ }
        memory.Dispose();
    }
}

/// <summary>The shared rings of an injected sampler (struct memprof_inject_rings at
/// <paramref name="Address"/>, 0: the library has none): whether it writes its events into them,
/// or why not.</summary>
/// <param name="Library">The library as the maps name it, and its memprof_inject_switch_rings, for the remote call that releases them.</param>
public sealed record InjectedRings(ulong Address, bool InUse, string? Refusal, string Library, ulong Switch)
{
    /// <summary>Asks the library to take <paramref name="path"/> (null: no rings) at its next safe
    /// point call; returns the generation to look for, or null when it cannot be asked.</summary>
    public static ulong? Request(IProcessMemory memory, ulong address, string? path)
    {
        var header = new byte[16];
        if (address == 0 || !memory.TryRead(address, header) || InjectLibrary.RingsPath(path) is not { } bytes) return null;
        ulong generation = Math.Max(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(header),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(8))) + 1;
        // The path first: the library reads it once it sees the new generation.
        if (!memory.TryWrite(address + InjectLibrary.RingsPathOffset, bytes)) return null;
        return memory.TryWrite(address + InjectLibrary.RingsRequestedOffset, InjectLibrary.Bytes(new StateWrite(0, generation))) ? generation : null;
    }

    /// <summary>What the library made of the request of <paramref name="generation"/> for rings:
    /// null when it writes into them.</summary>
    public static string? Outcome(IProcessMemory memory, ulong address, ulong generation) =>
        Status(memory, address, generation) is { } status ? InjectLibrary.RingsRefusal(status) : "the library's safe-point call did not run";

    /// <summary>The library's status once it carried out the request of <paramref name="generation"/> (null: not yet).</summary>
    static long? Status(IProcessMemory memory, ulong address, ulong generation)
    {
        var bytes = new byte[24];
        if (!memory.TryRead(address, bytes) ||
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(InjectLibrary.RingsAppliedOffset)) != generation) return null;
        return System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(InjectLibrary.RingsStatusOffset));
    }

    public string? Release(int pid, IProcessMemory memory)
    {
        if (Request(memory, Address, null) is not { } generation) return "the rings' release cannot be requested";
        var call = RemoteLoaderProcess.Memprof().Call(pid, Library, Switch);
        if (!call.Loaded) return $"the library's safe-point call failed ({call.Failure})";
        return Status(memory, Address, generation) switch
        {
            null => "the library's safe-point call did not run",
            InjectLibrary.RingsOff => null,
            var status => InjectLibrary.RingsRefusal(status.Value),
        };
    }
}

/// <summary>What makes libraries loaded after the attach go through the sampler, and how their
/// slots are found again at detach.</summary>
/// <param name="Definitions">The definitions redirected.</param>
/// <param name="Entries">Sampler entry → the allocator function it forwards to.</param>
/// <param name="Sampler">The sampler's path as the maps name it.</param>
public sealed record LateBinding(IReadOnlyList<DefinitionRedirect> Definitions, IReadOnlyDictionary<ulong, ulong> Entries, string Sampler)
{
    /// <summary>Slots holding a sampler entry now, except those that still hold the entry
    /// <paramref name="own"/> says the attach wrote there (address → entry).</summary>
    public IReadOnlyList<PatchedSlot> Find(int pid, IProcessMemory memory, IReadOnlyDictionary<ulong, ulong> own)
    {
        if (Entries.Count == 0) return [];
        try
        {
            var now = GotInspector.PlanNow(pid, Sampler);
            return LateSlots.Redirected(now, new GotPatcher(memory).Read(now), Entries, own);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }
}

/// <summary>The effects of attaching by injection, in the order docs/DESIGN.md gives: load the
/// library at a safe point (or reuse one already there), wait for its state, inspect the slots,
/// fill the tables and request no sampling yet, patch free slots then allocation slots, then the
/// allocators' definitions (frees first) with the threads stopped, then request again so counting
/// starts with every slot patched. The decisions are <see cref="InjectPlanner"/>'s,
/// <see cref="GotPlanner"/>'s and <see cref="DefinitionPlanner"/>'s.</summary>
public static class InjectAttach
{
    /// <summary>Attaches; the failure says why not in one line (the process is then as it was,
    /// except for the library, which is never unloaded).</summary>
    /// <param name="ringPath">The shared rings the library is to write its events into (null: none;
    /// a request for none also unmaps the rings an earlier recording left).</param>
    public static (InjectedProcess? Process, string? Failure) Attach(int pid, string library, ulong rateBytes, string? ringPath = null,
        Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        library = Native.CanonicalPath(library);
        bool resident = Procfs.ProcMaps.Read(pid).Any(m => m.IsFile && Path.GetFileName(m.Path) == InjectLibrary.FileName);
        if (!resident)
        {
            var load = RemoteLoaderProcess.Memprof().Load(pid, library);
            if (!load.Loaded) return (null, load.Failure ?? "the library could not be loaded");
            log?.Invoke($"loaded at {load.SafePoint} in {load.Total.TotalMilliseconds:0} ms");
        }

        ProcMemory memory;
        try { memory = ProcMemory.Open(pid); }
        catch (Core.ProfilerException e) { return (null, e.Message); }
        bool handedOver = false;
        try
        {
            var maps = Procfs.ProcMaps.Read(pid);
            var mapped = maps.FirstOrDefault(m => m.IsFile && m.FileOffset == 0 && Path.GetFileName(m.Path) == InjectLibrary.FileName);
            if (mapped is null) return (null, "the library is not in the process's maps after loading");
            string file = File.Exists($"/proc/{pid}/map_files/{mapped.Start:x}-{mapped.End:x}") ? $"/proc/{pid}/map_files/{mapped.Start:x}-{mapped.End:x}" : mapped.Path;
            if (LibrarySymbols(file) is not { } symbols) return (null, $"{mapped.Path} cannot be read");
            ulong bias = mapped.Start - symbols.FirstLoad;
            ulong state = bias + symbols.State;

            // The constructor sets the state up last: its magic says it is ready.
            // Bounded from here, not from the attach's start: a load on a busy machine can take seconds.
            var header = new byte[PreloadState.HeaderSize];
            PreloadHeader? decoded;
            var setUp = Stopwatch.StartNew();
            while ((decoded = memory.TryRead(state, header) ? PreloadState.DecodeHeader(header) : null) is null && setUp.Elapsed < TimeSpan.FromSeconds(5))
                Thread.Sleep(5);
            if (decoded is not { } current) return (null, "the library's state was not set up within 5 s");
            if (!current.Flags.HasFlag(PreloadFlags.Injected)) return (null, "the library in the process is not the injectable build");

            ulong? Entry(int table, string function) =>
                symbols.Entries.TryGetValue(InjectLibrary.EntryPoint(table, function), out ulong entry) ? bias + entry : null;
            var freezer = new ThreadFreezer();
            var (takenBack, notTaken) = TakeBack(pid, memory, mapped.Path, InjectPlanner.EntryTargets(InjectPlanner.ReadTables(header), Entry), freezer);
            if (notTaken is not null) return (null, notTaken);
            if (takenBack > 0) log?.Invoke($"{takenBack} slots an earlier recording left going to the sampler put back");

            var inspection = GotInspector.Inspect(pid, memory, mapped.Path);
            var plan = InjectPlanner.Plan(inspection.Plan, inspection.Forwarding, InjectPlanner.ReadTables(header), current, InjectLibrary.NotSampling,
                (module, name) => Helper(pid, module, name));
            var forwarding = inspection.Forwarding with { Apply = [.. inspection.Forwarding.Apply.Where(s => plan.SlotTable.ContainsKey(s.Slot.Address))] };
            if (forwarding.Apply.Count == 0) return (null, "the process has no allocator slot the sampler can take over");
            if (!Write(memory, state, plan.Writes)) return (null, "the library's tables cannot be written");
            // Carried out by the same safe-point call that measures the base.
            ulong ringsAddress = symbols.Rings is { } ringsSymbol ? bias + ringsSymbol : 0;
            ulong? ringsGeneration = InjectedRings.Request(memory, ringsAddress, ringPath);
            string baseNote = MeasureBase(pid, memory, mapped.Path, state, bias + symbols.Apply, log);
            string? ringsRefusal = ringPath is null ? null
                : ringsAddress == 0 ? "the library in the process is from a memprof without shared rings"
                : ringsGeneration is not { } asked ? "the library's rings request cannot be written"
                : InjectedRings.Outcome(memory, ringsAddress, asked);
            var rings = new InjectedRings(ringsAddress, ringPath is not null && ringsRefusal is null, ringsRefusal, mapped.Path, bias + (symbols.SwitchRings ?? 0));

            var (redirects, _) = DefinitionPlanner.Plan(inspection.Plan, plan.Tables, Entry);

            (GotPatch Slots, DefinitionPatch Definitions)? patched = null;
            string? why = null;
            // A library being loaded or unloaded has slots half relocated: wait for the dynamic linker.
            for (int attempt = 0; attempt < 50 && patched is null; attempt++)
            {
                var (result, failure) = freezer.Frozen(pid, () =>
                {
                    var linkMap = inspection.LinkMap is null ? null : LinkMapNow(pid, memory, inspection);
                    if (linkMap is { IsConsistent: false }) return null;
                    var slots = new GotPatcher(memory).Apply(forwarding, slot => bias + symbols.Entries[plan.EntryPoint(slot)]);
                    if (slots.Failure is not null) return ((GotPatch, DefinitionPatch)?)(slots, new DefinitionPatch([], [], null));
                    var definitions = new DefinitionPatcher(memory).Apply(redirects);
                    if (definitions.Failure is null) return (slots, definitions);
                    var undone = new GotPatcher(memory).Restore(slots);
                    return (new GotPatch(undone.Failed, slots.Skipped, definitions.Failure), definitions);
                }, TimeSpan.FromSeconds(2));
                if (failure is not null) { why = failure; break; }
                patched = result;
                if (patched is null) Thread.Sleep(10);
            }
            // Failed after the library took the rings: it gives them up, or they stay mapped until the next attach.
            string Failed(string failure) => rings.InUse && rings.Release(pid, memory) is { } kept ? $"{failure} (and the shared rings stay mapped: {kept})" : failure;
            if (patched is not var (patch, definitionPatch)) return (null, Failed(why ?? "the dynamic linker was loading a library for 0.5 s"));
            if (patch.Failure is not null) return (null, Failed($"patching failed and was undone: {patch.Failure}"));

            var entries = new Dictionary<ulong, ulong>();
            foreach (var table in plan.Tables)
                foreach (var (function, address) in table.Functions.Functions)
                    if (InjectLibrary.Functions.Contains(function) && Entry(table.Table, function) is { } entry) entries[entry] = address;
            var late = new LateBinding(definitionPatch.Applied, entries, mapped.Path);
            string bindings = definitionPatch.Applied.Count == 0
                ? "libraries loaded later not redirected (no definition could be)"
                : $"{definitionPatch.Applied.Count} definitions redirected, so libraries loaded later go through it from their first call";
            var process = new InjectedProcess(pid, memory, state, rateBytes, patch, late, freezer,
                $"{patch.Applied.Count} allocator slots redirected through {plan.Tables.Count} table{(plan.Tables.Count == 1 ? "" : "s")} " +
                $"({string.Join(", ", plan.Tables.Select(t => Path.GetFileName(t.Module)))})" +
                (resident ? ", sampler already loaded" : "") +
                (takenBack > 0 ? $", {takenBack} of them taken over from an earlier recording that left them going to it" : "") +
                "; " + bindings + "; " + baseNote, rings);
            handedOver = true;
            log?.Invoke($"{process.Summary} in {clock.Elapsed.TotalMilliseconds:0} ms");
            return (process, null);
        }
        finally
        {
            if (!handedOver) memory.Dispose();
        }
    }

    /// <summary>Slots an earlier recording left pointing at the sampler (its detach could not stop
    /// the threads, or memprof was killed) go back to the functions their entries forward to, with
    /// the threads stopped: this attach then redirects them like any other, and its detach puts them
    /// back. Otherwise none could be taken over, and the process could never be attached again.
    /// Returns how many, or why they could not be.</summary>
    /// <param name="entries">Each entry of a table in use → the function it forwards to.</param>
    static (int Count, string? Failure) TakeBack(int pid, ProcMemory memory, string sampler, IReadOnlyDictionary<ulong, ulong> entries,
        IThreadFreezer freezer)
    {
        if (entries.Count == 0) return (0, null);
        var now = GotInspector.PlanNow(pid, sampler);
        var left = LateSlots.Find(now, new GotPatcher(memory).Read(now), entries, new HashSet<ulong>());
        if (left.Count == 0) return (0, null);
        var (restore, stopped) = freezer.Frozen(pid, () => new GotPatcher(memory).Restore(new GotPatch(left, [], null)), TimeSpan.FromSeconds(5));
        if (stopped is not null) return (0, $"{left.Count} slots an earlier recording left going to the sampler cannot be taken over ({stopped})");
        if (restore!.Failed.Count > 0) return (0, $"{restore.Failed.Count} slots an earlier recording left going to the sampler cannot be written");
        return (restore.Restored.Count, null);
    }

    /// <summary>Calls the library's apply at a safe point: it applies the request just written and
    /// takes the allocators' live heap (mallinfo2, jemalloc's stats.allocated) as the base the
    /// Memory track starts from. Done before any slot points at the library, in a loader process
    /// of its own (it traces the target). Returns what the recording says about its live heap.</summary>
    static string MeasureBase(int pid, ProcMemory memory, string library, ulong state, ulong apply, Action<string>? log)
    {
        var call = RemoteLoaderProcess.Memprof().Call(pid, library, apply);
        var header = new byte[PreloadState.Size];
        if (!call.Loaded || !memory.TryRead(state, header) || PreloadState.Decode(header) is not { } totals)
        {
            log?.Invoke($"the base live heap could not be measured: {call.Failure}");
            return $"live heap counted from 0 at the attach (the allocator's own figure could not be read: {call.Failure})";
        }
        log?.Invoke($"base live heap {totals.LiveUsable:N0} B measured at {call.SafePoint} in {call.Total.TotalMilliseconds:0} ms");
        return totals.Flags.HasFlag(PreloadFlags.BaseUnknown)
            ? $"live heap starts at {totals.LiveUsable:N0} B at the attach, an allocator's part unknown"
            : $"live heap starts at the allocator's own figure at the attach ({totals.LiveUsable:N0} B)";
    }

    static LinkMap? LinkMapNow(int pid, IProcessMemory memory, GotInspection inspection) =>
        inspection.Plan.Modules
            .Where(m => m.Role == ModuleRole.DynamicLinker && m.Image.RDebug is not null)
            .Select(m => LinkMap.Read(memory, m.LoadBias + m.Image.RDebug!.Value))
            .FirstOrDefault(l => l is not null);

    static bool Write(IProcessMemory memory, ulong state, IReadOnlyList<StateWrite> writes)
    {
        foreach (var write in writes)
            if (!memory.TryWrite(state + (ulong)write.Offset, InjectLibrary.Bytes(write))) return false;
        return true;
    }

    sealed record Symbols(ulong FirstLoad, ulong State, ulong Apply, ulong? Rings, ulong? SwitchRings, IReadOnlyDictionary<string, ulong> Entries);

    static Symbols? LibrarySymbols(string file)
    {
        if (!ElfFile.TryOpen(file, out var elf, out _)) return null;
        using (elf)
        {
            var dynamic = elf.ReadDynamicSymbols().Where(s => s.IsDefined).ToList();
            var state = dynamic.FirstOrDefault(s => s.Name == PreloadLibrary.StateSymbol);
            var apply = dynamic.FirstOrDefault(s => s.Name == ApplySymbol);
            if (state is null || apply is null || elf.LoadSegments.Count == 0) return null;
            var entries = dynamic.Where(s => s.Name.StartsWith("memprof_inject", StringComparison.Ordinal) && s.IsFunction)
                .GroupBy(s => s.Name).ToDictionary(g => g.Key, g => g.First().Value);
            // Both or neither: a library from before the rings has none.
            var rings = dynamic.FirstOrDefault(s => s.Name == InjectLibrary.RingsSymbol);
            var switchRings = dynamic.FirstOrDefault(s => s.Name == InjectLibrary.SwitchRingsSymbol);
            return new Symbols(elf.LoadSegments.Min(s => s.VirtualAddress) & ~0xfffUL, state.Value, apply.Value,
                switchRings is null ? null : rings?.Value, switchRings?.Value, entries);
        }
    }

    /// <summary>Applies a pending request and measures the base live heap (memprof_sampler.h).</summary>
    public const string ApplySymbol = "memprof_preload_apply";

    static readonly Dictionary<string, IReadOnlyList<ElfSymbol>> HelperCache = [];

    /// <summary>A function the module exports by name (malloc_usable_size, mallinfo2, mallctl).</summary>
    static ulong? Helper(int pid, ModuleInstance module, string name)
    {
        string file = File.Exists($"/proc/{pid}/root{module.Path}") ? $"/proc/{pid}/root{module.Path}" : module.Path;
        if (!HelperCache.TryGetValue(file, out var symbols))
        {
            if (!ElfFile.TryOpen(file, out var elf, out _)) return null;
            using (elf) symbols = [.. elf.ReadDynamicSymbols().Where(s => s.IsDefined && s.Type == ElfSymbolType.Func)];
            HelperCache[file] = symbols;
        }
        return symbols.FirstOrDefault(s => GotFamilyName(s.Name) == name && !s.IsHiddenVersion) is { } found ? module.LoadBias + found.Value : null;
    }

    static string GotFamilyName(string name) => GotFamily.WithoutVersion(name);
}
