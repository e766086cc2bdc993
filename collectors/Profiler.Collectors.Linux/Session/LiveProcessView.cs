using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Collectors.Linux.Session;

/// <summary>The traced processes as procfs shows them now.</summary>
public sealed class LiveProcessView : IProcessView
{
    public IReadOnlyList<MapEntry> Maps(int pid) => ProcMaps.Read(pid);

    public bool TryRead(int pid, ulong address, Span<byte> buffer) => ProcessMemory.TryRead(pid, address, buffer);

    public string? EnvironmentVariable(int pid, string name)
    {
        try
        {
            foreach (var entry in File.ReadAllText($"/proc/{pid}/environ").Split('\0'))
                if (entry.Length > name.Length && entry[name.Length] == '=' && entry.StartsWith(name, StringComparison.Ordinal))
                    return entry[(name.Length + 1)..];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    public bool Exists(int pid) => Directory.Exists($"/proc/{pid}");
}

/// <summary>The files on this machine, read as ELF.</summary>
public sealed class ElfBinaryCatalog : IBinaryCatalog
{
    public string Canonical(string path) => Native.CanonicalPath(path);

    public bool Exists(string path) => File.Exists(path);

    public Probes.ProbePlan Plan(string path) => Probes.ProbePlanner.PlanFile(path);

    /// <summary>Build ids by file, its size and time kept with it: every process a session sees
    /// maps the same libraries, and a stat costs far less than opening the ELF file again.</summary>
    readonly System.Collections.Concurrent.ConcurrentDictionary<(string Path, long Length, long WriteTicks), string> _buildIds = new();

    public string BuildId(string path)
    {
        try
        {
            var file = new FileInfo(path);
            if (!file.Exists) return "";
            var key = (path, file.Length, file.LastWriteTimeUtc.Ticks);
            if (_buildIds.TryGetValue(key, out var known)) return known;
            using var elf = Symbols.Elf.ElfFile.Open(path);
            return _buildIds[key] = elf.BuildId ?? "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Symbols.Elf.ElfFormatException) { return ""; }
    }

    public ulong? FirstLoadAddress(string path)
    {
        if (!Symbols.Elf.ElfFile.TryOpen(path, out var elf, out _)) return null;
        using (elf)
            return elf.LoadSegments.Count == 0 ? null : elf.LoadSegments.Min(s => s.VirtualAddress) & ~0xfffUL;
    }
}
