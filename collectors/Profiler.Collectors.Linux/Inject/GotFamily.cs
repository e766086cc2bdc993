using Profiler.Collectors.Linux.Probes;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>The functions whose slots are redirected: the allocation API memprof probes.</summary>
public static class GotFamily
{
    static readonly Dictionary<string, AllocatorApi.Entry> ByName = AllocatorApi.Functions.ToDictionary(f => f.Symbol);

    /// <summary>The entry for a symbol name with or without its version ("malloc@GLIBC_2.2.5"), or null.</summary>
    public static AllocatorApi.Entry? Find(string symbol) =>
        ByName.GetValueOrDefault(WithoutVersion(symbol));

    /// <summary>The function only releases memory (free, dallocx, sdallocx). Those are redirected
    /// first and restored last, so that a block the sampler saw allocated is never freed behind its back.</summary>
    public static bool OnlyFrees(AllocatorApi.Entry api) =>
        api.Function is Bpf.BpfFunction.Free or Bpf.BpfFunction.Dallocx or Bpf.BpfFunction.Sdallocx;

    public static string WithoutVersion(string symbol)
    {
        int at = symbol.IndexOf('@');
        return at < 0 ? symbol : symbol[..at];
    }
}
