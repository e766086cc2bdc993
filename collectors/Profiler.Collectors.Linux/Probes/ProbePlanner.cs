using Profiler.Collectors.Linux.Bpf;
using Profiler.Symbols.Elf;
using PreloadLibrary = Profiler.Collectors.Linux.Preload.PreloadLibrary;

namespace Profiler.Collectors.Linux.Probes;

/// <param name="Glibc">The function is glibc's: blocks have chunk headers with their usable size,
/// and calls it relays to another probed function are counted there.</param>
public sealed record ProbeSite(string Path, string Symbol, BpfFunction Function, ulong FileOffset,
    ProbePoint Point, bool NeedsReturn, bool Glibc = false)
{
    public ulong Cookie => BpfCookie.Make(Function, Point.ReturnAddressSpOffset, Glibc);
}

/// <summary>What to probe in one file: the allocation API, exit() for stopping a launched
/// program on its way out (null when the file defines no exit()), and jemalloc's sampled path when
/// the file's jemalloc has profiling compiled in (probed instead of the API when profiling is active).</summary>
/// <param name="LibraryHook">The dynamic linker's _dl_debug_state, called whenever it has mapped
/// or unmapped libraries (null in other files).</param>
public sealed record ProbePlan(IReadOnlyList<ProbeSite> Sites, ulong? ExitHook, JemallocProfPlan? Jemalloc = null)
{
    public ulong? LibraryHook { get; init; }
    /// <summary>_exit: the counters read there include the frees made while exiting.</summary>
    public ulong? FinalExitHook { get; init; }
    /// <summary>The file is memprof's preload library: its markers replace the API it interposes.</summary>
    public PreloadPlan? Preload { get; init; }
    /// <summary>A library (not glibc's, not an executable) defining malloc, free, calloc and realloc
    /// unprefixed: where the launch library is loaded it samples through this allocator, and its
    /// unprefixed sites are left to it.</summary>
    public bool SampledByPreload { get; init; }

    /// <summary>Where the launch library is loaded it serves this file's malloc family, sampling in
    /// process: glibc's, or that of an allocator it samples through (libjemalloc.so.2).</summary>
    public bool ServedByLaunchLibrary(string path) => PreloadLibrary.IsGlibcLibrary(path) || SampledByPreload;

    /// <summary>The sites the launch library serves in this file, left unprobed beside it: glibc's
    /// API, or a sampled-through allocator's unprefixed API (a prefixed one, _rjem_mallocx, is
    /// nobody's to interpose).</summary>
    public IReadOnlyList<ProbeSite> SitesServedByLaunchLibrary(string path) =>
        PreloadLibrary.IsGlibcLibrary(path) ? [.. Sites.Where(s => s.Glibc)]
        : SampledByPreload ? [.. Sites.Where(s => AllocatorApi.Functions.Any(f => f.Symbol == s.Symbol))]
        : [];

    /// <summary>Beside the launch library, allocator calls in this file are still probed, each a
    /// trap with its stack: it has sites the library does not serve. The library's own markers
    /// are not such sites (they trap only for what the kernel must see).</summary>
    public bool ProbedBesideLaunchLibrary(string path) => Preload is null && Sites.Except(SitesServedByLaunchLibrary(path)).Any();
}

/// <param name="Sites">The two markers, probed on their first instruction (a 5-byte nop).</param>
/// <param name="StateAddress">The virtual address of memprof_preload_state in the file.</param>
public sealed record PreloadPlan(IReadOnlyList<ProbeSite> Sites, ulong StateAddress);

/// <param name="Sites">prof_lookup, prof_malloc_sample_object, prof_free_sampled_object.</param>
public sealed record JemallocProfPlan(JemallocProfSymbols Symbols, IReadOnlyList<ProbeSite> Sites);

/// <summary>Finds the allocation API defined in an ELF file and decides where to probe each function.</summary>
public static class ProbePlanner
{
    const string ExitSymbol = "exit";
    /// <summary>exit() calls _exit only after the atexit handlers and static destructors ran:
    /// their frees belong to the recording, so a launched process is stopped there too.</summary>
    const string FinalExitSymbol = "_exit";
    const string LibraryHookSymbol = "_dl_debug_state";
    /// <summary>Defined by glibc's libc.so.6 only.</summary>
    const string GlibcMarker = "gnu_get_libc_version";

    public static IReadOnlyList<ProbeSite> Plan(string path) => PlanFile(path).Sites;

    static readonly Dictionary<(string Path, long Length, DateTime Modified), ProbePlan> Cache = [];

    /// <summary>Plans are cached per file version: every child of a traced process maps the same libc.</summary>
    public static ProbePlan PlanFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return new ProbePlan([], null);
        var key = (path, info.Length, info.LastWriteTimeUtc);
        lock (Cache)
            if (Cache.TryGetValue(key, out var cached)) return cached;
        var plan = PlanUncached(path);
        lock (Cache) Cache[key] = plan;
        return plan;
    }

    static ProbePlan PlanUncached(string path)
    {
        if (!ElfFile.TryOpen(path, out var elf, out _)) return new ProbePlan([], null);
        using (elf)
        {
            var functions = new List<FunctionSymbol>();
            var objects = new List<(string, ulong)>();
            ulong? exitAddress = null, finalExitAddress = null, libraryHookAddress = null;
            bool glibc = false;
            foreach (var sym in elf.ReadSymbols())
            {
                if (!sym.IsDefined) continue;
                string name = StripVersion(sym.Name);
                if (sym.Type == ElfSymbolType.Object) { objects.Add((name, sym.Value)); continue; }
                if (sym.Type != ElfSymbolType.Func) continue;
                bool local = sym.Binding == ElfSymbolBinding.Local;
                functions.Add(new FunctionSymbol(name, sym.Value, local));
                if (local) continue;
                if (name == ExitSymbol) exitAddress ??= sym.Value;
                if (name == FinalExitSymbol) finalExitAddress ??= sym.Value;
                if (name == LibraryHookSymbol) libraryHookAddress ??= sym.Value;
                if (name == GlibcMarker) glibc = true;
            }
            if (PlanPreload(path, elf, functions, objects) is { } preload)
                return new ProbePlan(preload.Sites, null) { Preload = preload };
            var found = AllocatorSymbols.Find(functions, objects);

            var sites = new List<ProbeSite>();
            using var file = File.OpenRead(path);
            foreach (var (apiName, prefix, address) in found.Functions)
            {
                var api = AllocatorApi.Functions.First(f => f.Symbol == apiName);
                // glibc's reallocarray ends in realloc, whose probe sees the call.
                bool isGlibc = glibc && prefix.Length == 0;
                if (isGlibc && api.Function == BpfFunction.ReallocArray) continue;
                if (elf.VirtualAddressToFileOffset(address) is not { } offset) continue;
                var point = ChooseAt(file, offset, api.Arguments, api.NeedsReturn);
                sites.Add(new ProbeSite(path, prefix + api.Symbol, api.Function, offset + (ulong)point.Offset, point, api.NeedsReturn, isGlibc));
            }

            ulong? exitHook = null;
            if (exitAddress is { } exitVa && elf.VirtualAddressToFileOffset(exitVa) is { } exitOffset)
                exitHook = exitOffset + (ulong)ChooseAt(file, exitOffset, argumentCount: 1, returnProbe: false).Offset;
            ulong? finalExitHook = null;
            if (finalExitAddress is { } finalVa && elf.VirtualAddressToFileOffset(finalVa) is { } finalOffset)
                finalExitHook = finalOffset + (ulong)ChooseAt(file, finalOffset, argumentCount: 1, returnProbe: false).Offset;
            ulong? libraryHook = null;
            if (libraryHookAddress is { } hookVa && elf.VirtualAddressToFileOffset(hookVa) is { } hookOffset)
                libraryHook = hookOffset + (ulong)ChooseAt(file, hookOffset, argumentCount: 0, returnProbe: false).Offset;
            var unprefixed = found.Functions.Where(f => f.Prefix.Length == 0).Select(f => f.Api).ToHashSet();
            bool sampledByPreload = !glibc && elf.FindSection(".interp") is null && Preload.PreloadLibrary.WholeAllocator.All(unprefixed.Contains);
            return new ProbePlan(sites, exitHook, PlanJemalloc(path, elf, file, found.Jemalloc))
            {
                LibraryHook = libraryHook, FinalExitHook = finalExitHook, SampledByPreload = sampledByPreload,
            };
        }
    }

    /// <summary>The preload library's markers start with a 5-byte nop, which kernels from 6.18 turn
    /// into a call rather than a trap; nothing runs before it, so the return address is at %rsp.</summary>
    static PreloadPlan? PlanPreload(string path, ElfFile elf, List<FunctionSymbol> functions, List<(string Name, ulong Address)> objects)
    {
        var alloc = functions.FirstOrDefault(f => f.Name == Preload.PreloadLibrary.AllocMarker && !f.Local);
        var free = functions.FirstOrDefault(f => f.Name == Preload.PreloadLibrary.FreeMarker && !f.Local);
        var state = objects.FirstOrDefault(o => o.Name == Preload.PreloadLibrary.StateSymbol);
        if (alloc.Name is null || free.Name is null || state.Name is null) return null;
        var sites = new List<ProbeSite>();
        foreach (var (symbol, function) in new[] { (alloc, BpfFunction.MarkerAlloc), (free, BpfFunction.MarkerFree) })
        {
            if (elf.VirtualAddressToFileOffset(symbol.Address) is not { } offset) return null;
            sites.Add(new ProbeSite(path, symbol.Name, function, offset, new ProbePoint(0, 0, true, "nop5"), NeedsReturn: false));
        }
        return new PreloadPlan(sites, state.Address);
    }

    /// <summary>jemalloc's sampled path is probed at entry only: no return probe ever goes near
    /// its backtrace code (a return probe on prof_backtrace breaks libgcc's unwinder).</summary>
    static JemallocProfPlan? PlanJemalloc(string path, ElfFile elf, FileStream file, JemallocProfSymbols? symbols)
    {
        if (symbols is null) return null;
        var sites = new List<ProbeSite>();
        foreach (var (name, address, function, arguments) in new[]
        {
            ("prof_lookup", symbols.Lookup, BpfFunction.ProfLookup, 2),
            ("prof_malloc_sample_object", symbols.MallocSample, BpfFunction.ProfMalloc, 5),
            ("prof_free_sampled_object", symbols.FreeSampled, BpfFunction.ProfFree, 4),
        })
        {
            if (elf.VirtualAddressToFileOffset(address) is not { } offset) return null;
            var point = ChooseAt(file, offset, arguments, returnProbe: false);
            sites.Add(new ProbeSite(path, symbols.PrivateNamespace + name, function, offset + (ulong)point.Offset, point, NeedsReturn: false));
        }
        return new JemallocProfPlan(symbols, sites);
    }

    static ProbePoint ChooseAt(FileStream file, ulong offset, int argumentCount, bool returnProbe)
    {
        var code = new byte[64];
        file.Position = (long)offset;
        int got = file.ReadAtLeast(code, code.Length, throwOnEndOfStream: false);
        return PrologueAnalyzer.Choose(code.AsSpan(0, got), argumentCount, returnProbe);
    }

    static string StripVersion(string name)
    {
        int at = name.IndexOf('@');
        return at < 0 ? name : name[..at];
    }
}
