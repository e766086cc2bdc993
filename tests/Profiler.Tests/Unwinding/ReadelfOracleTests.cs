using Profiler.Symbols.Elf;
using Profiler.Symbols.Unwinding;
using Profiler.Tests.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Unwinding;

/// <summary>
/// Every row of every FDE of real files, as readelf decodes it, must be the row the unwind tables
/// compute for that address: glibc (thousands of FDEs, remember/restore_state, expressions, signal
/// frames), the dynamic loader, the Rust sample, and gcc's .debug_frame output.
/// </summary>
[Collection(CProgramCollection.Name)]
public sealed class ReadelfOracleTests(CProgram program, ITestOutputHelper output)
{
    private const string Loader = "/lib64/ld-linux-x86-64.so.2";

    public static TheoryData<string> Files() => new() { SystemTools.Libc, Loader, "allocs-nofp" };

    [Theory]
    [MemberData(nameof(Files))]
    public void Eh_frame_rows_match_readelf(string file)
    {
        string path = file == "allocs-nofp" ? Path.Combine(RepoRoot.Path, "samples", "bin", file) : file;
        if (file == "allocs-nofp" && !File.Exists(path))
            Assert.Fail($"{path} is missing: run samples/build.sh allocs-nofp");
        SystemTools.Require(["readelf"], path);
        var rows = ReadelfFrames.Read(path).Where(r => r.Section == ".eh_frame").ToList();
        Assert.True(rows.Count > 50, $"readelf printed only {rows.Count} rows for {path}");
        using var elf = ElfFile.Open(path);
        var withHeader = UnwindTables.Load(elf);
        Assert.True(withHeader.UsesEhFrameHeader);
        var eh = elf.FindSection(".eh_frame")!;
        var scanned = UnwindTables.FromEhFrame(elf.ReadSection(eh).ToArray(), eh.Address);
        Assert.False(scanned.UsesEhFrameHeader);
        int checkedRows = Compare(withHeader, rows) + Compare(scanned, rows);
        output.WriteLine($"{checkedRows} rows compared");
    }

    [Fact]
    public void Debug_frame_rows_match_readelf()
    {
        SystemTools.Require(["readelf", "gcc"]);
        string path = program.Variant("debug-frame");
        var rows = ReadelfFrames.Read(path).Where(r => r.Section == ".debug_frame").ToList();
        Assert.NotEmpty(rows);
        using var elf = ElfFile.Open(path);
        var tables = UnwindTables.FromDebugFrame(elf.ReadSection(elf.FindSection(".debug_frame")!).ToArray());
        Compare(tables, rows);
    }

    private static int Compare(UnwindTables tables, IReadOnlyList<ReadelfFrames.Row> rows)
    {
        var failures = new List<string>();
        // A location printed twice (an advance by zero) is governed by its last row.
        var last = rows.GroupBy(r => (r.FdeStart, r.Location)).Select(g => g.Last()).ToList();
        foreach (var row in last)
        {
            if (!tables.TryFindRow(row.Location, out var ours))
            {
                failures.Add($"0x{row.Location:x}: no row, readelf has CFA {row.Cfa}");
                continue;
            }
            var differences = Differences(tables, ours, row);
            if (differences.Length > 0)
                failures.Add($"0x{row.Location:x} (FDE 0x{row.FdeStart:x}): {differences}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {last.Count} rows differ from readelf:\n" +
            string.Join('\n', failures.Take(40)));
        return last.Count;
    }

    private static string Differences(UnwindTables tables, in UnwindRow ours, ReadelfFrames.Row expected)
    {
        var differences = new List<string>();
        string cfa = ours.Cfa.Kind switch
        {
            CfaRuleKind.RegisterOffset => $"{Name(ours.Cfa.Register)}{ours.Cfa.Offset:+0;-0;+0}",
            CfaRuleKind.Expression => "exp",
            _ => "none",
        };
        if (cfa != expected.Cfa)
            differences.Add($"CFA {cfa}, readelf {expected.Cfa}");
        for (int register = 0; register < ReadelfFrames.RegisterNames.Length; register++)
        {
            string name = ReadelfFrames.RegisterNames[register];
            string theirs = expected.Registers.GetValueOrDefault(name, "u");
            string mine = Notation(ours[register]);
            if (mine != theirs)
                differences.Add($"{name} {mine}, readelf {theirs}");
            if (ours[register].Kind is RegisterRuleKind.Expression or RegisterRuleKind.ValueExpression &&
                tables.Expression(ours, ours[register].Value).IsEmpty)
                differences.Add($"{name}: expression bytes missing");
        }
        if (ours.Cfa.Kind == CfaRuleKind.Expression && tables.Expression(ours, ours.Cfa.Offset).IsEmpty)
            differences.Add("CFA expression bytes missing");
        return string.Join(", ", differences);
    }

    private static string Notation(RegisterRule rule) => rule.Kind switch
    {
        RegisterRuleKind.Unspecified or RegisterRuleKind.Undefined => "u",
        RegisterRuleKind.SameValue => "s",
        RegisterRuleKind.Offset => $"c{rule.Value:+0;-0;+0}",
        RegisterRuleKind.ValueOffset => $"v{rule.Value:+0;-0;+0}",
        RegisterRuleKind.Register => Name(rule.Register),
        RegisterRuleKind.Expression => "exp",
        RegisterRuleKind.ValueExpression => "vexp",
        _ => "?",
    };

    private static string Name(int register) =>
        register < ReadelfFrames.RegisterNames.Length ? ReadelfFrames.RegisterNames[register] : $"r{register}";
}
