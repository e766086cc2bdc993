namespace Profiler.Collectors.Linux.Inject;

/// <summary>One loaded object as the dynamic linker lists it (struct link_map).</summary>
/// <param name="Name">The name it was opened by ("" for the executable), which need not be the
/// path /proc/PID/maps shows (a symlink, or /lib for /usr/lib).</param>
public sealed record LinkMapEntry(ulong LoadBias, string Name);

/// <summary>The dynamic linker's list of loaded objects (glibc's r_debug / link_map), in the order
/// it searches them for a symbol.</summary>
/// <param name="State">r_state: 0 when no library is being mapped or unmapped (RT_CONSISTENT).</param>
public sealed record LinkMap(int State, IReadOnlyList<LinkMapEntry> Entries)
{
    public const int Consistent = 0;

    /// <summary>No library is half loaded: every listed module's relocations are done.</summary>
    public bool IsConsistent => State == Consistent;

    const int MaxEntries = 65536;
    const int MaxName = 4096;

    /// <summary>Reads r_debug at <paramref name="rDebug"/> (ld.so's load bias + its _r_debug);
    /// null when it cannot be read or is not a list.</summary>
    public static LinkMap? Read(IProcessMemory memory, ulong rDebug)
    {
        // struct r_debug { int r_version; struct link_map *r_map; ElfW(Addr) r_brk; int r_state; ... }
        if (memory.ReadWord(rDebug) is not { } version || (int)version == 0) return null;
        if (memory.ReadWord(rDebug + 8) is not { } node || memory.ReadWord(rDebug + 24) is not { } state) return null;
        var entries = new List<LinkMapEntry>();
        var seen = new HashSet<ulong>();
        // struct link_map { ElfW(Addr) l_addr; char *l_name; ElfW(Dyn) *l_ld; struct link_map *l_next, *l_prev; }
        while (node != 0)
        {
            if (!seen.Add(node) || entries.Count == MaxEntries) return null;
            if (memory.ReadWord(node) is not { } bias || memory.ReadWord(node + 8) is not { } name ||
                memory.ReadWord(node + 24) is not { } next) return null;
            entries.Add(new LinkMapEntry(bias, name == 0 ? "" : ReadString(memory, name)));
            node = next;
        }
        return new LinkMap((int)state, entries);
    }

    /// <summary>The plan's modules in this list's order (matched by load bias); modules the list
    /// does not name (a namespace of their own) follow in their guessed order.</summary>
    public IReadOnlyList<ModuleInstance> Order(GotPlan plan, string executable)
    {
        var listed = Entries.SelectMany(e => plan.Modules.Where(m => m.LoadBias == e.LoadBias)).Distinct().ToList();
        return [.. listed, .. GotOriginals.GuessLookupOrder(plan, executable).Except(listed)];
    }

    static string ReadString(IProcessMemory memory, ulong address)
    {
        var bytes = new List<byte>();
        Span<byte> chunk = stackalloc byte[1];
        // Byte by byte: a name may end just before an unmapped page.
        while (bytes.Count < MaxName && memory.TryRead(address + (ulong)bytes.Count, chunk) && chunk[0] != 0)
            bytes.Add(chunk[0]);
        return System.Text.Encoding.UTF8.GetString(bytes.ToArray());
    }
}
