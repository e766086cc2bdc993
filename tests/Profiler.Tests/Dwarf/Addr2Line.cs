namespace Profiler.Tests.Dwarf;

/// <summary>GNU addr2line (binutils) as the oracle: `addr2line -a -f -i -C -e FILE`, which follows
/// build ids and debug links to separate debug files on its own.</summary>
internal static class Addr2Line
{
    public const string Tool = "addr2line";

    /// <summary>Each address's frames, outermost first (addr2line prints the innermost first).</summary>
    public static Dictionary<ulong, List<OracleFrame>> Symbolize(string path, IReadOnlyCollection<ulong> addresses)
    {
        var lines = OracleProcess.Run(Tool, ["-a", "-f", "-i", "-C", "-e", path], addresses.Select(a => $"0x{a:x}"));
        var result = new Dictionary<ulong, List<OracleFrame>>();
        List<OracleFrame>? current = null;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.Length == 0)
                continue;
            if (line.StartsWith("0x", StringComparison.Ordinal) && i + 1 < lines.Length)
            {
                current = [];
                result[Convert.ToUInt64(line[2..], 16)] = current;
                continue;
            }
            if (current is null || i + 1 >= lines.Length)
                throw new InvalidOperationException($"unexpected addr2line output at line {i}: {line}");
            current.Insert(0, OracleFrame.Parse(line, lines[++i], hasColumn: false));
        }
        return result;
    }
}
