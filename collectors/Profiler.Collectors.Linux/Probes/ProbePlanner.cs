using Profiler.Collectors.Linux.Bpf;
using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Probes;

public sealed record ProbeSite(string Path, string Symbol, BpfFunction Function, ulong FileOffset,
    ProbePoint Point, bool NeedsReturn)
{
    public ulong Cookie => BpfCookie.Make(Function, Point.ReturnAddressSpOffset);
}

/// <summary>Finds the allocation API defined in an ELF file and decides where to probe each function.</summary>
public static class ProbePlanner
{
    public static IReadOnlyList<ProbeSite> Plan(string path)
    {
        if (!ElfFile.TryOpen(path, out var elf, out _) || elf is null) return [];
        using (elf)
        {
            var wanted = AllocatorApi.Functions.ToDictionary(f => f.Symbol);
            var found = new Dictionary<string, ulong>();
            foreach (var sym in elf.ReadSymbols())
            {
                if (!sym.IsDefined || sym.Type != ElfSymbolType.Func || sym.Binding == ElfSymbolBinding.Local) continue;
                string name = StripVersion(sym.Name);
                if (wanted.ContainsKey(name) && !found.ContainsKey(name)) found[name] = sym.Value;
            }

            var sites = new List<ProbeSite>();
            var seenAddresses = new HashSet<ulong>();
            using var file = File.OpenRead(path);
            // Aliases share an address (aligned_alloc = memalign in glibc): one probe per address.
            foreach (var api in AllocatorApi.Functions)
            {
                if (!found.TryGetValue(api.Symbol, out var address) || !seenAddresses.Add(address)) continue;
                if (elf.VirtualAddressToFileOffset(address) is not { } offset) continue;
                var code = new byte[64];
                file.Position = (long)offset;
                int got = file.ReadAtLeast(code, code.Length, throwOnEndOfStream: false);
                var point = PrologueAnalyzer.Choose(code.AsSpan(0, got), api.Arguments, api.NeedsReturn);
                sites.Add(new ProbeSite(path, api.Symbol, api.Function, offset + (ulong)point.Offset, point, api.NeedsReturn));
            }
            return sites;
        }
    }

    /// <summary>Where to stop a launched program as it calls exit(), or null when the file has no exit().</summary>
    public static ulong? ExitHook(string path)
    {
        if (!ElfFile.TryOpen(path, out var elf, out _)) return null;
        using (elf)
        {
            var exit = elf.ReadSymbols().FirstOrDefault(s => s.IsDefined && s.Type == ElfSymbolType.Func
                && s.Binding != ElfSymbolBinding.Local && StripVersion(s.Name) == "exit");
            if (exit is null || elf.VirtualAddressToFileOffset(exit.Value) is not { } offset) return null;
            var code = new byte[64];
            using var file = File.OpenRead(path);
            file.Position = (long)offset;
            int got = file.ReadAtLeast(code, code.Length, throwOnEndOfStream: false);
            return offset + (ulong)PrologueAnalyzer.Choose(code.AsSpan(0, got), argumentCount: 1, returnProbe: false).Offset;
        }
    }

    static string StripVersion(string name)
    {
        int at = name.IndexOf('@');
        return at < 0 ? name : name[..at];
    }
}
