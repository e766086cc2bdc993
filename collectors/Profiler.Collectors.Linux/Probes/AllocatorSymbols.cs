namespace Profiler.Collectors.Linux.Probes;

/// <summary>A defined function symbol of an ELF file (.symtab or .dynsym).</summary>
public readonly record struct FunctionSymbol(string Name, ulong Address, bool Local);

/// <summary>The allocation API found in one file, whatever prefix its allocator uses.</summary>
/// <param name="Functions">Unprefixed API name (malloc, mallocx, …) with prefix and address;
/// one entry per address (aliases are probed once).</param>
/// <param name="Jemalloc">jemalloc's sampled path, when the file has jemalloc with profiling compiled in.</param>
public sealed record AllocatorSymbolSet(IReadOnlyList<(string Api, string Prefix, ulong Address)> Functions, JemallocProfSymbols? Jemalloc);

/// <param name="PublicPrefix">The prefix of jemalloc's public API (`_rjem_`, or empty): its
/// configuration variable is the upper-cased prefix + MALLOC_CONF.</param>
/// <param name="PrivateNamespace">The prefix of jemalloc's internal symbols (`_rjem_je_`, `je_`).</param>
public sealed record JemallocProfSymbols(string PublicPrefix, string PrivateNamespace, ulong Lookup, ulong MallocSample, ulong FreeSampled,
    ulong? OptProf, ulong? ProfActive, ulong? OptLgProfSample)
{
    public string ConfVariable => PublicPrefix.ToUpperInvariant() + "MALLOC_CONF";
}

/// <summary>Finds allocator entry points among a file's symbols: the C API unprefixed (glibc,
/// Debian's libjemalloc) and under any prefix P for which P + "mallocx" exists (tikv-jemallocator's
/// `_rjem_`, `je_`, custom builds), plus jemalloc's profiling functions (internal, often local).</summary>
public static class AllocatorSymbols
{
    const string ProfLookup = "prof_lookup";
    const string ProfMallocSample = "prof_malloc_sample_object";
    const string ProfFreeSampled = "prof_free_sampled_object";

    public static AllocatorSymbolSet Find(IEnumerable<FunctionSymbol> symbols, IEnumerable<(string Name, ulong Address)>? objects = null)
    {
        var global = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var any = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var s in symbols)
        {
            any.TryAdd(s.Name, s.Address);
            if (!s.Local) global.TryAdd(s.Name, s.Address);
        }
        var prefixes = global.Keys
            .Where(n => n.EndsWith(AllocatorApi.JemallocMarker, StringComparison.Ordinal))
            .Select(n => n[..^AllocatorApi.JemallocMarker.Length])
            .Where(p => p.Length == 0 || p.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            .Append("")
            .Distinct().OrderBy(p => p.Length).ToList();

        var functions = new List<(string, string, ulong)>();
        var seen = new HashSet<ulong>();
        foreach (var prefix in prefixes)
            foreach (var api in AllocatorApi.Functions)
                if (global.TryGetValue(prefix + api.Symbol, out var address) && seen.Add(address))
                    functions.Add((api.Symbol, prefix, address));

        return new AllocatorSymbolSet(functions, FindProfiling(any, prefixes, objects));
    }

    static JemallocProfSymbols? FindProfiling(Dictionary<string, ulong> any, List<string> prefixes, IEnumerable<(string Name, ulong Address)>? objects)
    {
        var sample = any.Keys.FirstOrDefault(n => n.EndsWith(ProfMallocSample, StringComparison.Ordinal));
        if (sample is null) return null;
        string ns = sample[..^ProfMallocSample.Length];
        if (!any.TryGetValue(ns + ProfLookup, out var lookup) || !any.TryGetValue(ns + ProfFreeSampled, out var free)) return null;
        // The private namespace extends the public prefix (`_rjem_` → `_rjem_je_`); unprefixed builds use `je_`.
        string publicPrefix = prefixes.Where(p => p.Length > 0 && ns.StartsWith(p, StringComparison.Ordinal))
            .OrderByDescending(p => p.Length).FirstOrDefault() ?? "";
        // Local symbols repeat names across object files: the first one found stands.
        var data = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var (name, address) in objects ?? []) data.TryAdd(name, address);
        ulong? Data(string name) => data.TryGetValue(ns + name, out var a) ? a : null;
        return new JemallocProfSymbols(publicPrefix, ns, lookup, any[sample], free,
            Data("opt_prof"), Data("prof_active_state"), Data("opt_lg_prof_sample"));
    }
}
