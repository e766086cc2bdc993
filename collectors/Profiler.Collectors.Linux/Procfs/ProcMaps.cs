using System.Globalization;

namespace Profiler.Collectors.Linux.Procfs;

public sealed record MapEntry(ulong Start, ulong End, string Permissions, ulong FileOffset, string Path)
{
    public bool IsExecutable => Permissions.Length > 2 && Permissions[2] == 'x';
    public bool IsFile => Path.StartsWith('/');
}

/// <summary>Parses /proc/PID/maps.</summary>
public static class ProcMaps
{
    public static IReadOnlyList<MapEntry> Parse(string text)
    {
        var result = new List<MapEntry>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.Length == 0) continue;
            // start-end perms offset dev inode [path]; the path may contain spaces.
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 5) continue;
            var range = parts[0].Split('-');
            if (range.Length != 2) continue;
            if (!ulong.TryParse(range[0], NumberStyles.HexNumber, null, out var start) ||
                !ulong.TryParse(range[1], NumberStyles.HexNumber, null, out var end) ||
                !ulong.TryParse(parts[2], NumberStyles.HexNumber, null, out var offset))
                continue;
            string path = parts.Length == 6 ? parts[5].Trim() : "";
            result.Add(new MapEntry(start, end, parts[1], offset, path));
        }
        return result;
    }

    public static IReadOnlyList<MapEntry> Read(int pid)
    {
        try { return Parse(File.ReadAllText($"/proc/{pid}/maps")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }
}
