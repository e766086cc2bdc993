using System.Globalization;
using System.Text;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.Linux.DotNet;

/// <summary>Reads a .NET runtime's perf map (<c>/tmp/perf-PID.map</c>: one <c>ADDRESS SIZE NAME</c>
/// line, in hex, per piece of code it generated) a little at a time: each read returns the lines
/// completed since the last one. The file stays after the process is gone.</summary>
public sealed class PerfMapFile(string path)
{
    long _offset;

    public string Path { get; } = path;

    public static string For(int pid) => $"/tmp/perf-{pid}.map";

    public bool Exists => File.Exists(Path);

    public void Delete() => AppendedFile.Delete(Path);

    /// <summary>The entries written since the last call (a line still being written waits).</summary>
    public List<JitSymbol> ReadNew()
    {
        var symbols = new List<JitSymbol>();
        var bytes = AppendedFile.ReadFrom(Path, _offset);
        if (bytes.Length == 0) return symbols;
        int complete = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        _offset += complete;
        foreach (var line in Encoding.UTF8.GetString(bytes, 0, complete).Split('\n'))
            if (Parse(line) is { } symbol) symbols.Add(symbol);
        return symbols;
    }

    /// <summary>One line, or null for a line that is not an entry.</summary>
    public static JitSymbol? Parse(string line)
    {
        int first = line.IndexOf(' ');
        int second = first < 0 ? -1 : line.IndexOf(' ', first + 1);
        if (second < 0) return null;
        var start = line.AsSpan(0, first);
        if (start.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) start = start[2..];
        if (!ulong.TryParse(start, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong address) ||
            !ulong.TryParse(line.AsSpan(first + 1, second - first - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong size))
            return null;
        return new JitSymbol { Start = address, Size = size, Name = line[(second + 1)..].TrimEnd('\r') };
    }
}
