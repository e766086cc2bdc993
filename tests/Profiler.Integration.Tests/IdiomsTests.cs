using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using Profiler.Core;
using Profiler.Formatting;
using Profiler.Tests.Pprof;

namespace Profiler.Integration.Tests;

/// <summary>
/// The idioms sample allocates the way Rust programs do — through Vec, String, format!, Box,
/// HashMap, BTreeMap, collect, clone — so every stack passes through std before it reaches the
/// program. Each output names the program's own functions with their exact bytes (the sample's
/// calibrated manifest), never std's or libc's or memprof's.
/// </summary>
public sealed class IdiomsTests(IdiomsRecordingFixture fixture) : IClassFixture<IdiomsRecordingFixture>
{
    IEnumerable<IdiomsFunction> ByAllocated => fixture.Functions.OrderByDescending(f => f.AllocatedBytes);

    [Fact]
    public void Report_by_allocated_lists_every_function_first_with_its_exact_bytes_and_counts()
    {
        var result = CliRunner.Run("report", "--by", "allocated", "--top", "10", fixture.Recording);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var sites = ReportSites.Parse(result.Stdout);
        // Nothing outside the named functions allocates more than the least of them (3,700 B), so
        // they are the top ten, in the order of their bytes.
        Assert.True(ByAllocated.Select(f => f.Name).SequenceEqual(sites.Select(s => s.Name)),
            $"expected the sites {string.Join(", ", ByAllocated.Select(f => f.Name))}; the report:\n{result.Stdout}");
        foreach (var (function, site) in ByAllocated.Zip(sites))
        {
            Assert.Contains($" {ReportFormat.Bytes(function.AllocatedBytes),9} {ReportFormat.Count(function.Allocations),9} " +
                            $"{ReportFormat.Bytes(function.FreedBytes),9} ", site.Figures);
            Assert.Equal(IdiomsRecordingFixture.Variant, site.Module);
        }
    }

    [Fact]
    public void Report_by_leaked_names_the_two_leaking_functions_with_their_exact_bytes()
    {
        var result = CliRunner.Run("report", "--by", "leaked", "--top", "10", fixture.Recording);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var sites = ReportSites.Parse(result.Stdout);
        var leaking = fixture.Functions.Where(f => f.LiveBytes > 0).OrderByDescending(f => f.LiveBytes).ToList();
        Assert.Equal(["idioms::leak_large", "idioms::leak_small"], leaking.Select(f => f.Name));
        Assert.True(sites.Count >= 2, result.Stdout);
        for (int i = 0; i < leaking.Count; i++)
        {
            Assert.Equal(leaking[i].Name, sites[i].Name);
            Assert.Contains($"{ReportFormat.Bytes(leaking[i].LiveBytes),9} {ReportFormat.Count(leaking[i].LiveBlocks),8} ", sites[i].Figures);
        }
        // Every other named function freed all it allocated.
        Assert.DoesNotContain(sites, s => s.Name.StartsWith("idioms::", StringComparison.Ordinal) && !leaking.Any(f => f.Name == s.Name));
    }

    [Fact]
    public void A_broken_leak_budget_names_the_leaking_functions_on_the_console_and_in_junit()
    {
        string junit = Path.Combine(fixture.Directory, "budgets.xml");
        var result = CliRunner.Run("check", fixture.Recording, "--max-leaked", "1MiB", "--junit", junit);
        Assert.True(result.ExitCode == (int)ExitCode.BudgetExceeded, $"exit {result.ExitCode}:\n{result.Stdout}\n{result.Stderr}");
        var large = fixture.Functions.Single(f => f.Name == "idioms::leak_large");
        var small = fixture.Functions.Single(f => f.Name == "idioms::leak_small");

        var lines = (result.Stdout + result.Stderr).Split('\n');
        var failed = lines.SkipWhile(l => !l.Contains("FAIL max-leaked")).ToList();
        Assert.True(failed.Count >= 3, string.Join('\n', lines));
        Assert.Contains($"{ReportFormat.Bytes(large.LiveBytes)}  idioms::leak_large", failed[1]);
        Assert.Contains($"{ReportFormat.Bytes(small.LiveBytes)}  idioms::leak_small", failed[2]);

        var failure = XDocument.Load(junit).Descendants("testcase").Single(c => (string)c.Attribute("name")! == "max-leaked").Element("failure");
        Assert.NotNull(failure);
        var listed = failure.Value.Split('\n').SkipWhile(l => !l.StartsWith("top sites", StringComparison.Ordinal)).Skip(1).ToList();
        Assert.StartsWith($"{ReportFormat.Bytes(large.LiveBytes)}  idioms::leak_large", listed[0]);
        Assert.StartsWith($"{ReportFormat.Bytes(small.LiveBytes)}  idioms::leak_small", listed[1]);
    }

    [Fact]
    public void Go_pprof_top_gives_each_function_its_exact_bytes_as_flat()
    {
        string pprof = Path.Combine(fixture.Directory, "idioms.pb.gz");
        var export = CliRunner.Run("export", fixture.Recording, "--format", "pprof", "-o", pprof);
        Assert.True(export.ExitCode == 0, export.Stderr);

        var allocated = GoPprof.Top(pprof, "alloc_space");
        var wrong = fixture.Functions.Where(f => allocated.Flat.GetValueOrDefault(f.Name) != f.AllocatedBytes)
            .Select(f => $"{f.Name}: flat {allocated.Flat.GetValueOrDefault(f.Name)} B, allocated {f.AllocatedBytes} B").ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong) + "\n" + allocated.Text);

        var inUse = GoPprof.Top(pprof, "inuse_space");
        foreach (var f in fixture.Functions.Where(f => f.LiveBytes > 0))
            Assert.Equal(f.LiveBytes, inUse.Flat.GetValueOrDefault(f.Name));
        // Of what the program's functions allocated, no std, core, alloc or hashbrown function keeps
        // bytes of its own: they are the program's. (std's start-up, which no program function
        // calls, keeps its few hundred bytes: its stacks are library code only.)
        var underProgram = GoPprof.Top(pprof, "alloc_space", "-focus=^idioms::");
        Assert.DoesNotContain(underProgram.Flat.Where(f => f.Value > 0).Select(f => f.Key), IsStd);
    }

    [Fact]
    public void Firefox_profile_charges_each_function_its_exact_bytes_as_the_innermost_program_frame()
    {
        using var gz = new GZipStream(File.OpenRead(fixture.Firefox), CompressionMode.Decompress);
        using var doc = JsonDocument.Parse(gz);
        var profile = FirefoxStacks.Of(doc);

        // Dropping every frame not compiled from the sample's sources (std, hashbrown, libc),
        // each allocation's leaf is the program function that made it: its self bytes in the
        // inverted Allocated tree are that function's allocated bytes.
        var self = new Dictionary<string, long>();
        foreach (var (stack, weight) in profile.Allocations)
        {
            if (weight <= 0) continue;
            var innermost = profile.LeafFirst(stack).FirstOrDefault(f => f.File?.StartsWith(IdiomsRecordingFixture.SourceDirectory, StringComparison.Ordinal) == true);
            if (innermost is not null) self[innermost.Name] = self.GetValueOrDefault(innermost.Name) + weight;
        }
        foreach (var f in fixture.Functions)
            Assert.True(self.GetValueOrDefault(f.Name) == f.AllocatedBytes, $"{f.Name}: {self.GetValueOrDefault(f.Name)} B in the profile, allocated {f.AllocatedBytes} B");

        // No frame of memprof's own (its preload library) is in any stack.
        var memprofFrames = profile.Allocations.SelectMany(a => profile.LeafFirst(a.Stack))
            .Where(f => f.Name.StartsWith("memprof_", StringComparison.Ordinal) || f.Library?.Contains("memprof", StringComparison.Ordinal) == true)
            .Select(f => f.Name).Distinct().ToList();
        Assert.True(memprofFrames.Count == 0, "memprof's own frames in the profile: " + string.Join(", ", memprofFrames));
    }

    [Fact]
    public void Terminal_UI_top_sites_show_the_functions_with_their_exact_bytes()
    {
        using var tmux = new TuiTests.Tmux(160, 40, $"{CliRunner.CommandLine} view {fixture.Recording}");
        // Sorted by retained first: the two leaking functions lead.
        string screen = tmux.WaitFor(s => s.Contains("idioms::leak_large"), "the Top sites view");
        var rows = SiteRows(screen);
        Assert.True(rows.Count >= 2, screen);
        Assert.StartsWith("idioms::leak_large", rows[0]);
        Assert.Equal(ReportFormat.Bytes(fixture.Functions.Single(f => f.Name == "idioms::leak_large").LiveBytes), Column(rows[0], 0));
        Assert.StartsWith("idioms::leak_small", rows[1]);
        Assert.Equal(ReportFormat.Bytes(fixture.Functions.Single(f => f.Name == "idioms::leak_small").LiveBytes), Column(rows[1], 0));

        // Sorted by allocated: the ten functions, each with its bytes.
        tmux.Send("Right");
        screen = tmux.WaitFor(s => s.Contains("▼allocated"), "the sites sorted by allocated bytes");
        rows = SiteRows(screen);
        var expected = ByAllocated.ToList();
        Assert.True(rows.Count >= expected.Count, screen);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(rows[i].StartsWith(expected[i].Name + " ", StringComparison.Ordinal), $"row {i}: expected {expected[i].Name}:\n{screen}");
            Assert.Equal(ReportFormat.Bytes(expected[i].AllocatedBytes), Column(rows[i], 1));
        }
        tmux.Send("q");
        tmux.WaitFor(s => s.Contains("EXITED 0"), "memprof to exit with 0");
    }

    /// <summary>The Top sites rows: the lines after the header line ("site … retained …").</summary>
    static List<string> SiteRows(string screen)
    {
        var lines = screen.Split('\n');
        int header = Array.FindIndex(lines, l => l.StartsWith("site ", StringComparison.Ordinal) && l.Contains("retained"));
        Assert.True(header >= 0, screen);
        return lines.Skip(header + 1).TakeWhile(l => l.Trim().Length > 0 && !l.StartsWith('─')).ToList();
    }

    /// <summary>Figure column i (0 retained, 1 allocated, …) of a row: six right-aligned columns of 10.</summary>
    static string Column(string row, int i)
    {
        string figures = row.TrimEnd();
        figures = figures[^60..];
        return figures.Substring(i * 10, 10).Trim();
    }

    static bool IsStd(string function) =>
        new[] { "std::", "core::", "alloc::", "hashbrown::" }.Any(p =>
            function.StartsWith(p, StringComparison.Ordinal) || function.StartsWith("<" + p, StringComparison.Ordinal));
}
