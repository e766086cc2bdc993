using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Unwinding;

/// <summary>
/// Unwind tables per (path, build id), loaded on first use and kept for the cache's lifetime, so
/// every process of a recording that maps the same libc shares one copy. A file that cannot be read,
/// is not x86-64, or whose build id differs from the recorded one is remembered as unusable (its
/// frames then fall back to frame pointers) and named once in <see cref="Warnings"/>.
/// Not thread-safe.
/// </summary>
public sealed class UnwindTableCache(int rowCacheSize = UnwindTables.DefaultRowCacheSize)
{
    private const ushort MachineX86_64 = 62;
    private readonly Dictionary<(string Path, string BuildId), UnwindTables?> _tables = [];
    private readonly List<string> _warnings = [];

    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Number of files loaded (or found unusable) so far.</summary>
    public int Count => _tables.Count;

    /// <summary>The tables of <paramref name="path"/>; an empty <paramref name="buildId"/> accepts any file.</summary>
    public UnwindTables? Get(string path, string buildId)
    {
        var key = (path, buildId);
        if (_tables.TryGetValue(key, out var tables))
            return tables;
        tables = Load(path, buildId);
        _tables[key] = tables;
        return tables;
    }

    private UnwindTables? Load(string path, string buildId)
    {
        if (!ElfFile.TryOpen(path, out var elf, out var error))
        {
            _warnings.Add($"{error}; stacks through it use frame pointers only");
            return null;
        }
        using (elf)
        {
            try
            {
                if (elf.Machine != MachineX86_64)
                {
                    _warnings.Add($"{path} is not an x86-64 file; stacks through it use frame pointers only");
                    return null;
                }
                if (buildId.Length > 0 && elf.BuildId is { } actual && actual != buildId)
                {
                    _warnings.Add($"{path} changed since it was mapped (build id {actual}, expected {buildId}); " +
                        "stacks through it use frame pointers only");
                    return null;
                }
                return UnwindTables.Load(elf, rowCacheSize);
            }
            catch (ElfFormatException ex)
            {
                _warnings.Add($"{ex.Message}; stacks through it use frame pointers only");
                return null;
            }
        }
    }
}
