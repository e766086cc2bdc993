namespace Profiler.Tests.Dwarf;

/// <summary>llvm-symbolizer (LLVM 14) as the second oracle: `--inlining`, names left mangled and
/// demangled by c++filt (see <see cref="OracleDemangler"/>), so they read as binutils (and
/// memprof) spell them, for Rust too. Like memprof, it names the outermost frame from the symbol
/// table and inlined frames from DWARF.</summary>
internal static class LlvmSymbolizer
{
    public const string Tool = "llvm-symbolizer-14";

    /// <summary>Each address's frames, outermost first.</summary>
    public static Dictionary<ulong, List<OracleFrame>> Symbolize(string path, IReadOnlyList<ulong> addresses)
    {
        var lines = OracleProcess.Run(Tool, ["--inlining", "--no-demangle", $"--obj={path}"], addresses.Select(a => $"0x{a:x}"));
        var frames = new List<(ulong Address, string Function, string Location)>();
        int next = 0;
        foreach (ulong address in addresses)
        {
            while (next < lines.Length && lines[next].Length > 0)
            {
                if (next + 1 >= lines.Length)
                    throw new InvalidOperationException($"unexpected {Tool} output at line {next}: {lines[next]}");
                frames.Add((address, lines[next], lines[next + 1]));
                next += 2;
            }
            next++; // the blank line after each address
        }
        var demangled = OracleDemangler.Demangle(frames.ConvertAll(f => f.Function));
        var result = addresses.Distinct().ToDictionary(a => a, _ => new List<OracleFrame>());
        for (int i = 0; i < frames.Count; i++)
            result[frames[i].Address].Insert(0, OracleFrame.Parse(demangled[i], frames[i].Location, hasColumn: true));
        return result;
    }
}
