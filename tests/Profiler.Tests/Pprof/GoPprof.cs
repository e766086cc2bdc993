using System.Globalization;
using System.Text.RegularExpressions;

namespace Profiler.Tests.Pprof;

/// <summary>
/// Runs `go tool pprof` (Debian's golang-go, installed by scripts/install-deps.sh), the reference
/// reader the exported profiles are checked against. A missing `go` fails the test.
/// </summary>
static partial class GoPprof
{
    public sealed record TopTable(long Shown, long Total, Dictionary<string, long> Flat, string Text, string Errors);

    /// <summary>`go tool pprof ARGS… FILE`; its standard output.</summary>
    public static string Run(string file, params string[] arguments) => Execute(file, arguments).Output;

    /// <summary>`go tool pprof ARGS… FILE`; its standard output and its warnings (standard error).</summary>
    public static (string Output, string Errors) Execute(string file, params string[] arguments)
    {
        Prerequisites.Require(["go"]);
        // pprof also looks for binaries under $HOME/pprof; only the paths the profile names count here.
        var result = ProcessRunner.RunChecked("go", ["tool", "pprof", .. arguments, file],
            ProcessOptions.CLocale.WithEnvironment("PPROF_BINARY_PATH", "/nonexistent"));
        return (result.Stdout, result.Stderr);
    }

    /// <summary>The -top table for one sample type in raw units (bytes, counts): what the shown
    /// samples add up to (less than the total under -tagfocus), the total, and each function's
    /// flat value ("name" or "name (inline)"). Functions with a zero flat value are left out.</summary>
    public static TopTable Top(string file, string sampleIndex, params string[] extra)
    {
        var (text, errors) = Execute(file, ["-top", "-nodecount=100000", "-nodefraction=0", "-unit=B", $"-sample_index={sampleIndex}", .. extra]);
        var total = TotalLine().Match(text);
        Assert.True(total.Success, $"no total in go tool pprof -top output:\n{text}");
        var flat = new Dictionary<string, long>();
        foreach (var line in text.Split('\n'))
        {
            var row = TopRow().Match(line);
            if (!row.Success) continue;
            long value = Number(row.Groups["flat"].Value);
            if (value != 0) flat[row.Groups["name"].Value] = flat.GetValueOrDefault(row.Groups["name"].Value) + value;
        }
        return new TopTable(Number(total.Groups["shown"].Value), Number(total.Groups["total"].Value), flat, text, errors);
    }

    public sealed record RawLine(string Function, string File, long Line);
    public sealed record RawLocation(ulong Id, ulong Address, ulong? Mapping, List<RawLine> Lines);
    public sealed record RawMapping(ulong Id, ulong Start, ulong Limit, ulong Offset, string File, string BuildId, string Flags);
    public sealed record RawProfile(List<RawLocation> Locations, List<RawMapping> Mappings, string Text);

    /// <summary>The Locations and Mappings sections of `go tool pprof -raw` (pprof's own dump of
    /// the profile as it understood it).</summary>
    public static RawProfile Raw(string file, params string[] extra)
    {
        string text = Run(file, ["-raw", .. extra]);
        var locations = new List<RawLocation>();
        var mappings = new List<RawMapping>();
        string section = "";
        foreach (var line in text.Split('\n'))
        {
            if (line is "Locations" or "Mappings") { section = line; continue; }
            if (section == "Locations" && RawLocationHeader().Match(line) is { Success: true } header)
            {
                locations.Add(new RawLocation(ulong.Parse(header.Groups["id"].Value, CultureInfo.InvariantCulture),
                    Hex(header.Groups["address"].Value),
                    header.Groups["mapping"].Success ? ulong.Parse(header.Groups["mapping"].Value, CultureInfo.InvariantCulture) : null,
                    [RawLineOf(header.Groups["line"].Value)]));
            }
            else if (section == "Locations" && line.StartsWith(new string(' ', 13), StringComparison.Ordinal) && locations.Count > 0)
            {
                locations[^1].Lines.Add(RawLineOf(line.Trim()));
            }
            else if (section == "Mappings" && RawMappingRow().Match(line) is { Success: true } m)
            {
                mappings.Add(new RawMapping(ulong.Parse(m.Groups["id"].Value, CultureInfo.InvariantCulture),
                    Hex(m.Groups["start"].Value), Hex(m.Groups["limit"].Value), Hex(m.Groups["offset"].Value),
                    m.Groups["file"].Value, m.Groups["build"].Value, m.Groups["flags"].Value));
            }
        }
        return new RawProfile(locations, mappings, text);
    }

    static RawLine RawLineOf(string text)
    {
        var m = RawLineText().Match(text);
        Assert.True(m.Success, $"unexpected location line in go tool pprof -raw: '{text}'");
        return new RawLine(m.Groups["name"].Value, m.Groups["file"].Value, long.Parse(m.Groups["line"].Value, CultureInfo.InvariantCulture));
    }

    public sealed record Trace(Dictionary<string, string> Labels, string Value, List<string> Frames);

    /// <summary>`go tool pprof -traces`: each sample's labels, value and frames, leaf first, where
    /// an inlined function reads "name (inline)".</summary>
    public static List<Trace> Traces(string file, params string[] extra)
    {
        var traces = new List<Trace>();
        foreach (var line in Run(file, ["-traces", .. extra]).Split('\n'))
        {
            if (line.StartsWith("-----------+", StringComparison.Ordinal)) { traces.Add(new Trace([], "", [])); continue; }
            if (traces.Count == 0 || line.Trim().Length == 0) continue;
            var trace = traces[^1];
            // Frame rows keep the value in the first 10 columns and the name from column 13.
            if (line.Length > 13 && line[10..13] == "   " && !line[..10].Trim().Contains(' '))
            {
                if (line[..10].Trim().Length > 0) traces[^1] = trace = trace with { Value = line[..10].Trim() };
                trace.Frames.Add(line[13..].Trim());
            }
            else if (line.IndexOf(':') is int colon and > 0)
            {
                trace.Labels[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }
        return traces.Where(t => t.Frames.Count > 0).ToList();
    }

    static ulong Hex(string text) => ulong.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    // "     2: 0x1233 M=1 helper :30 s=0"; a location without mapping has no "M=".
    [GeneratedRegex(@"^\s*(?<id>\d+): 0x(?<address>[0-9a-f]+) (?:M=(?<mapping>\d+) )?(?<line>.*)$")]
    private static partial Regex RawLocationHeader();

    // "helper file.c:30 s=0", then "(system name)" when it differs from the name.
    [GeneratedRegex(@"^(?<name>.+?) (?<file>\S*):(?<line>-?\d+) s=-?\d+(\(.*\))?$")]
    private static partial Regex RawLineText();

    // "1: 0x1000/0x2000/0x1000 /usr/bin/app aaaa1111 [FN][FL]"
    [GeneratedRegex(@"^(?<id>\d+): 0x(?<start>[0-9a-f]+)/0x(?<limit>[0-9a-f]+)/0x(?<offset>[0-9a-f]+) (?<file>\S*) (?<build>\S*) (?<flags>\S*)$")]
    private static partial Regex RawMappingRow();

    /// <summary>A value as -top prints it with -unit=B: "1234B" for bytes, "1234" for counts.</summary>
    static long Number(string text) => long.Parse(text.TrimEnd('B'), NumberStyles.Integer, CultureInfo.InvariantCulture);

    // "Showing nodes accounting for 1100B, 93.06% of 1182B total"
    [GeneratedRegex(@"accounting for (?<shown>-?\d+B?), [\d.]+% of (?<total>-?\d+B?) total")]
    private static partial Regex TotalLine();

    // "      1024B 50.00% 50.00%      2048B   100%  main.f"
    [GeneratedRegex(@"^\s*(?<flat>-?\d+B?)\s+[\d.]+%\s+[\d.]+%\s+-?\d+B?\s+[\d.]+%\s+(?<name>.+?)\s*$")]
    private static partial Regex TopRow();
}
