using Profiler.Core;
using static Profiler.Tests.Cli.CliHarness;

namespace Profiler.Tests.Checks;

/// <summary>A recording that breaks --max-leaked 10KiB, cut short anywhere in its tail (the end
/// marker, the end-of-process record, a half record): check and diff give no verdict on it (exit
/// 92) instead of the false pass the cut figures would give, unless --allow-incomplete.</summary>
public sealed class IncompleteRecordingTests : IDisposable
{
    static readonly string Fixture = Path.Combine(RepoRoot.Path, "tests", "Profiler.Viewer.Tests", "fixtures", "allocs-leak.memprof");
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-incomplete");

    public void Dispose() => _dir.Delete(recursive: true);

    string CutCopy(int bytes)
    {
        var data = File.ReadAllBytes(Fixture);
        string path = Path.Combine(_dir.FullName, $"cut-{bytes}.memprof");
        File.WriteAllBytes(path, data[..^bytes]);
        return path;
    }

    static string LastLine(string stderr) => stderr.Trim().Split('\n')[^1];

    [Fact]
    public void The_intact_recording_breaks_the_budget()
    {
        var (code, output, _) = Run("check", Fixture, "--max-leaked", "10KiB");
        Assert.Equal((int)ExitCode.BudgetExceeded, code);
        Assert.Contains("FAIL max-leaked", output);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(40)]
    [InlineData(81)]
    [InlineData(120)]
    [InlineData(400)]
    public void Check_refuses_a_recording_cut_short(int cut)
    {
        string path = CutCopy(cut);
        foreach (var budget in new[] { new[] { "--max-leaked", "10KiB" }, ["--fail-on-leak"] })
        {
            var (code, output, err) = Run(["check", path, .. budget]);
            Assert.True(code == (int)ExitCode.IncompleteRecording, $"cut {cut}, {budget[0]}: exit {code}: {output}{err}");
            Assert.Contains("no verdict is given", LastLine(err));
            Assert.DoesNotContain("held", output);
        }
    }

    [Fact]
    public void Allow_incomplete_judges_what_is_there_with_a_warning()
    {
        string path = CutCopy(81);
        var (code, output, err) = Run("check", path, "--max-leaked", "10KiB", "--allow-incomplete");
        Assert.Contains(code, new[] { 0, (int)ExitCode.BudgetExceeded });
        Assert.Contains("--allow-incomplete", err);
        Assert.Contains("max-leaked", output);
    }

    [Fact]
    public void Diff_refuses_a_recording_cut_short_on_either_side()
    {
        string path = CutCopy(81);
        foreach (var (baseline, current) in new[] { (Fixture, path), (path, Fixture) })
        {
            var (code, _, err) = Run("diff", baseline, current, "--fail-on-regression");
            Assert.Equal((int)ExitCode.IncompleteRecording, code);
            Assert.Contains(path, LastLine(err));
        }
        var (allowed, _, _) = Run("diff", Fixture, path, "--allow-incomplete");
        Assert.Equal(0, allowed);
    }
}
