using System.Globalization;
using System.Text.RegularExpressions;
using Profiler.Tests.Elf;

namespace Profiler.Tests.Unwinding;

/// <summary>
/// The unwind tables as binutils' `readelf --debug-dump=frames-interp` prints them: for every FDE,
/// the rows (location, CFA rule, one rule per register mentioned). An independent decoder of the
/// same bytes, used as the oracle for CIE/FDE parsing and CFA program execution.
/// </summary>
public static partial class ReadelfFrames
{
    /// <summary>One printed row. Rules are readelf's notation: "u" (undefined or never set),
    /// "s" (same value), "c-16" (saved at CFA-16), "v+8" (value CFA+8), a register name, "exp", "vexp".</summary>
    public sealed record Row(string Section, ulong FdeStart, ulong Location, string Cfa, IReadOnlyDictionary<string, string> Registers);

    public static IReadOnlyList<Row> Read(string file)
    {
        // -wF: frames-interp; N: do not follow .gnu_debuglink into a separate debug file, whose
        // NOBITS .eh_frame only earns a warning and a failing exit code.
        string text = SystemTools.Run("readelf", "--wide", "-wFN", file);
        var rows = new List<Row>();
        string section = "";
        ulong fdeStart = 0;
        string[]? columns = null;
        foreach (var line in SystemTools.Lines(text))
        {
            if (SectionHeader().Match(line) is { Success: true } header)
            {
                section = header.Groups[1].Value;
                columns = null;
            }
            else if (FdeHeader().Match(line) is { Success: true } fde)
            {
                fdeStart = ulong.Parse(fde.Groups[1].Value, NumberStyles.HexNumber);
                columns = null;
            }
            else if (line.Contains(" CIE", StringComparison.Ordinal) || line.Contains("ZERO terminator", StringComparison.Ordinal))
            {
                fdeStart = ulong.MaxValue; // rows that follow describe the CIE alone
            }
            else if (line.TrimStart().StartsWith("LOC", StringComparison.Ordinal))
            {
                columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
            else if (columns is not null && fdeStart != ulong.MaxValue && line.Length > 0 && char.IsAsciiHexDigit(line[0]))
            {
                var fields = Fields(line);
                var registers = new Dictionary<string, string>();
                for (int i = 2; i < fields.Count && i < columns.Length; i++)
                    registers[columns[i]] = fields[i];
                rows.Add(new Row(section, fdeStart, ulong.Parse(fields[0], NumberStyles.HexNumber), fields[1], registers));
            }
        }
        return rows;
    }

    /// <summary>The row's fields; a register rule printed as "r1 (rdx)" becomes "rdx".</summary>
    private static List<string> Fields(string line)
    {
        var fields = new List<string>();
        foreach (var token in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (token.StartsWith('(') && token.EndsWith(')') && fields.Count > 0)
                fields[^1] = token[1..^1];
            else
                fields.Add(token);
        }
        return fields;
    }

    /// <summary>readelf's column names for DWARF registers 0–16.</summary>
    public static readonly string[] RegisterNames =
        ["rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "ra"];

    [GeneratedRegex(@"^Contents of the (\.\w+) section")]
    private static partial Regex SectionHeader();

    [GeneratedRegex(@"FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.")]
    private static partial Regex FdeHeader();
}
