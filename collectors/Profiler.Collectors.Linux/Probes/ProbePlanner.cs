using Profiler.Collectors.Linux.Bpf;
using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Probes;

/// <param name="Glibc">The function is glibc's: blocks have chunk headers with their usable size,
/// and calls it relays to another probed function are counted there.</param>
public sealed record ProbeSite(string Path, string Symbol, BpfFunction Function, ulong FileOffset,
    ProbePoint Point, bool NeedsReturn, bool Glibc = false)
{
    public ulong Cookie => BpfCookie.Make(Function, Point.ReturnAddressSpOffset, Glibc);
}

/// <summary>What to probe in one file: the allocation API, and exit() for stopping a launched
/// program on its way out (null when the file defines no exit()).</summary>
public sealed record ProbePlan(IReadOnlyList<ProbeSite> Sites, ulong? ExitHook);

/// <summary>Finds the allocation API defined in an ELF file and decides where to probe each function.</summary>
public static class ProbePlanner
{
    const string ExitSymbol = "exit";
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
            var wanted = AllocatorApi.Functions.Select(f => f.Symbol).Append(ExitSymbol).Append(GlibcMarker).ToHashSet();
            var found = new Dictionary<string, ulong>();
            foreach (var sym in elf.ReadSymbols())
            {
                if (!sym.IsDefined || sym.Type != ElfSymbolType.Func || sym.Binding == ElfSymbolBinding.Local) continue;
                string name = StripVersion(sym.Name);
                if (wanted.Contains(name)) found.TryAdd(name, sym.Value);
            }

            bool glibc = found.ContainsKey(GlibcMarker);
            var sites = new List<ProbeSite>();
            var seenAddresses = new HashSet<ulong>();
            using var file = File.OpenRead(path);
            // Aliases share an address (aligned_alloc = memalign in glibc): one probe per address.
            foreach (var api in AllocatorApi.Functions)
            {
                if (!found.TryGetValue(api.Symbol, out var address) || !seenAddresses.Add(address)) continue;
                // glibc's reallocarray ends in realloc, whose probe sees the call.
                if (glibc && api.Function == BpfFunction.ReallocArray) continue;
                if (elf.VirtualAddressToFileOffset(address) is not { } offset) continue;
                var point = ChooseAt(file, offset, api.Arguments, api.NeedsReturn);
                sites.Add(new ProbeSite(path, api.Symbol, api.Function, offset + (ulong)point.Offset, point, api.NeedsReturn, glibc));
            }

            ulong? exitHook = null;
            if (found.TryGetValue(ExitSymbol, out var exitAddress) && elf.VirtualAddressToFileOffset(exitAddress) is { } exitOffset)
                exitHook = exitOffset + (ulong)ChooseAt(file, exitOffset, argumentCount: 1, returnProbe: false).Offset;
            return new ProbePlan(sites, exitHook);
        }
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
