namespace Profiler.Collectors.Linux.Probes;

/// <summary>The `flags` argument of jemalloc's *allocx functions (jemalloc_macros.h):
/// bits 0–5 MALLOCX_LG_ALIGN(la), bit 6 MALLOCX_ZERO, bits 8–19 MALLOCX_TCACHE(tc) = (tc + 2) &lt;&lt; 8
/// (MALLOCX_TCACHE_NONE = 1 &lt;&lt; 8), bits 20–31 MALLOCX_ARENA(a) = (a + 1) &lt;&lt; 20.</summary>
public readonly record struct MallocxFlags(ulong Alignment, bool Zero, int? Tcache, bool NoTcache, int? Arena)
{
    public static MallocxFlags Decode(int flags)
    {
        int lgAlign = flags & 0x3f;
        int tcacheField = (flags >> 8) & 0xfff;
        int arenaField = (int)((uint)flags >> 20);
        return new MallocxFlags(
            Alignment: lgAlign == 0 ? 0 : 1UL << lgAlign,
            Zero: (flags & 0x40) != 0,
            Tcache: tcacheField >= 2 ? tcacheField - 2 : null,
            NoTcache: tcacheField == 1,
            Arena: arenaField == 0 ? null : arenaField - 1);
    }

    /// <summary>The usable size a request gets at least: the size rounded up to the alignment.</summary>
    public ulong MinimumUsable(ulong size) => Alignment <= 1 ? size : (size + Alignment - 1) & ~(Alignment - 1);
}
