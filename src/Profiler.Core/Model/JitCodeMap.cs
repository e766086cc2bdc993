using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Model;

/// <summary>Per-process address → JIT-compiled method, over a recording's <see cref="JitSymbols"/>
/// records (what a .NET runtime published in its perf map while it was recorded).</summary>
public sealed class JitCodeMap
{
    /// <summary>Managed frames' module: this prefix and the assembly's name (the Firefox export
    /// gives such frames a category of their own).</summary>
    public const string ModulePrefix = ".NET ";

    readonly record struct Entry(ulong Start, ulong End, string Raw);

    readonly Dictionary<uint, Entry[]> _byPid;

    JitCodeMap(Dictionary<uint, Entry[]> byPid) => _byPid = byPid;

    public static JitCodeMap Empty { get; } = new([]);

    public bool IsEmpty => _byPid.Count == 0;

    public static bool IsManagedModule(string? modulePath) => modulePath?.StartsWith(ModulePrefix, StringComparison.Ordinal) == true;

    public static string ModulePath(ManagedName name) => ModulePrefix + (name.Assembly.Length > 0 ? name.Assembly : "code");

    public static JitCodeMap From(IEnumerable<JitSymbols> records)
    {
        var byPid = new Dictionary<uint, Dictionary<ulong, Entry>>();
        foreach (var record in records)
        {
            if (!byPid.TryGetValue(record.Pid, out var entries)) byPid[record.Pid] = entries = [];
            // A later entry at the same start is newer code there (the range was reused).
            foreach (var symbol in record.Symbols)
                if (symbol.Size > 0) entries[symbol.Start] = new Entry(symbol.Start, symbol.Start + symbol.Size, symbol.Name);
        }
        return new JitCodeMap(byPid.ToDictionary(p => p.Key, p => p.Value.Values.OrderBy(e => e.Start).ToArray()));
    }

    /// <summary>The method whose code holds <paramref name="address"/>, parsed; false outside every one.</summary>
    public bool TryFind(uint pid, ulong address, out ManagedName name, out ulong start)
    {
        (name, start) = (default, 0);
        if (!_byPid.TryGetValue(pid, out var entries)) return false;
        int lo = 0, hi = entries.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            if (entries[mid].Start <= address) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        // Stub blocks span whole pages and may enclose smaller entries: look back a little.
        for (int i = found; i >= 0 && i > found - 8; i--)
        {
            if (address < entries[i].End)
            {
                (name, start) = (PerfMapName.Parse(entries[i].Raw), entries[i].Start);
                return true;
            }
        }
        return false;
    }
}
