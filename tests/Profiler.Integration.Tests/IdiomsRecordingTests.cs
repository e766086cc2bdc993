using System.Text.RegularExpressions;
using Profiler.Core;
using Profiler.Export;
using Profiler.Formatting;

namespace Profiler.Integration.Tests;

/// <summary>Recordings of the idioms sample made for one check each: every way of catching
/// allocations names the program's functions exactly; a diff finds the one function whose work
/// grew; large leaks are exact even at the default sampling rate.</summary>
public sealed class IdiomsRecordingTests : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-idioms");

    public void Dispose() => _dir.Delete(recursive: true);

    string Out(string name) => Path.Combine(_dir.FullName, name);

    [Theory]
    [InlineData("idioms-fp", "preload")]
    [InlineData("idioms-nofp", "preload")]
    [InlineData("idioms-fp", "probe")]
    public void Every_function_has_exactly_its_allocations_bytes_and_leaks_at_rate_1(string variant, string mode)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(variant);
        var manifest = Manifest.Read(sample);
        var result = ExactRecording.Run(Out("idioms.memprof"), "record", "--rate", "1", "--mode", mode, "--no-firefox", "-o", Out("idioms.memprof"), "--", sample);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var sites = SiteTotals.Of(RecordingLoader.Load(Out("idioms.memprof"), TextWriter.Null));
        var problems = SiteTotals.Mismatches(manifest, sites).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems) + "\nsites: " +
            string.Join(", ", sites.OrderByDescending(s => s.Value.AllocatedBytes).Take(15).Select(s => $"{s.Key} {s.Value.AllocatedBytes} B")));
    }

    [Fact]
    public void Diff_of_a_bigger_index_flags_exactly_the_function_that_builds_it()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(IdiomsRecordingFixture.Variant);
        // Arguments of the same lengths, so main's own copies of them are the same in both runs.
        string[] baseArgs = ["--index-entries", "5000"], moreArgs = ["--index-entries", "8000"];
        var baseIndex = IdiomsFunction.Of(Manifest.ReadFor(sample, baseArgs)).Single(f => f.Name == "idioms::build_index");
        var moreIndex = IdiomsFunction.Of(Manifest.ReadFor(sample, moreArgs)).Single(f => f.Name == "idioms::build_index");
        Assert.True(moreIndex.AllocatedBytes > baseIndex.AllocatedBytes * 3 / 2, "the bigger index must grow the table");

        Assert.Equal(0, ExactRecording.Run(Out("base.memprof"), ["record", "--rate", "1", "--no-firefox", "-o", Out("base.memprof"), "--", sample, .. baseArgs]).ExitCode);
        Assert.Equal(0, ExactRecording.Run(Out("more.memprof"), ["record", "--rate", "1", "--no-firefox", "-o", Out("more.memprof"), "--", sample, .. moreArgs]).ExitCode);
        var diff = CliRunner.Run("diff", Out("base.memprof"), Out("more.memprof"), "--fail-on-regression");
        Assert.True(diff.ExitCode == (int)ExitCode.RegressionFound, $"exit {diff.ExitCode}:\n{diff.Stdout}\n{diff.Stderr}");

        var lines = diff.Stdout.Split('\n');
        var flagged = lines.Where(l => l.StartsWith("REGRESSION ") || l.StartsWith("changed ")).ToList();
        Assert.True(flagged.Count == 2 && flagged[0] == "REGRESSION total" && flagged[1].StartsWith("REGRESSION idioms::build_index", StringComparison.Ordinal),
            diff.Stdout);
        var figures = lines.SkipWhile(l => !l.StartsWith("REGRESSION idioms::build_index", StringComparison.Ordinal)).Skip(1)
            .TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal)).ToList();
        string allocated = ReportFormat.SignedBytes(moreIndex.AllocatedBytes - baseIndex.AllocatedBytes);
        string allocations = "+" + ReportFormat.Count(moreIndex.Allocations - baseIndex.Allocations);
        Assert.Contains(figures, l => Regex.IsMatch(l, $@"^\s+allocated\s.*\s{Regex.Escape(allocated)}\s"));
        Assert.Contains(figures, l => Regex.IsMatch(l, $@"^\s+allocations\s.*\s{Regex.Escape(allocations)}\s"));
    }

    [Fact]
    public void Large_leaks_are_exact_at_the_default_rate()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(IdiomsRecordingFixture.Variant);
        var large = IdiomsFunction.Of(Manifest.Read(sample)).Single(f => f.Name == "idioms::leak_large");
        // Each of its blocks is at least the default rate (512 KiB): recorded always, at its size.
        Assert.True(large.LiveBlocks == 4 && large.LiveBytes == large.LiveBlocks * 640 * 1024);

        var result = CliRunner.Run("record", "--no-firefox", "-o", Out("default.memprof"), "--", sample);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var site = SiteTotals.Of(RecordingLoader.Load(Out("default.memprof"), TextWriter.Null)).GetValueOrDefault("idioms::leak_large");
        Assert.NotNull(site);
        Assert.Equal((large.LiveBlocks, large.LiveBytes), (site.Allocations, site.RetainedBytes));

        var report = CliRunner.Run("report", "--by", "leaked", "--top", "5", Out("default.memprof"));
        var first = ReportSites.Parse(report.Stdout).FirstOrDefault();
        Assert.True(first?.Name == "idioms::leak_large", report.Stdout);
        Assert.Contains($"{ReportFormat.Bytes(large.LiveBytes),9} {ReportFormat.Count(large.LiveBlocks),8} ", first.Figures);
    }
}
