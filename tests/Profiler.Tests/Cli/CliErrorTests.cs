using Profiler.Cli;
using static Profiler.Tests.Cli.CliHarness;

namespace Profiler.Tests.Cli;

public sealed class CliErrorTests
{
    [Fact]
    public void A_missing_recording_exits_66_with_one_line()
    {
        var (code, _, err) = Run("report", "/nonexistent/x.memprof");
        Assert.Equal(66, code);
        AssertOneLineError(err, "no such file");
    }

    [Fact]
    public void A_file_of_another_type_exits_65()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, "{\"meta\": {}}");
        var (code, _, err) = Run("export", path, "-o", path + ".json.gz");
        File.Delete(path);
        Assert.Equal(65, code);
        AssertOneLineError(err, "not a memprof recording");
    }

    [Theory]
    [InlineData]
    [InlineData("frobnicate")]
    [InlineData("report", "--no-such-option", "x.memprof")]
    [InlineData("import", "jemalloc")]
    public void Parse_errors_are_usage_errors_on_one_line(params string[] args)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(64, code);
        AssertOneLineError(err, "(see memprof --help)");
    }

    [Fact]
    public void An_output_in_a_missing_folder_exits_66_with_one_line()
    {
        var recording = Path.Combine(RepoRoot.Path, "tests", "Profiler.Viewer.Tests", "fixtures", "allocs-leak.memprof");
        var (code, _, err) = Run("export", recording, "-o", "/nonexistent-folder/x.json.gz");
        Assert.Equal(66, code);
        // (The fixture's binaries are not on this machine: symbolization warns first.)
        var last = err.Trim().Split('\n')[^1];
        Assert.StartsWith("memprof: ", last);
        Assert.Contains("/nonexistent-folder/x.json.gz", last);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Record_without_a_target_is_a_usage_error()
    {
        var (code, _, err) = Run("record");
        Assert.Equal(64, code);
        AssertOneLineError(err, "give a command after -- or --pid PID");
    }

    [Fact]
    public void A_bad_duration_is_a_usage_error()
    {
        var (code, _, err) = Run("record", "--duration", "soon", "--pid", "1");
        Assert.Equal(64, code);
        AssertOneLineError(err, "'soon' is not a duration");
    }

    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("30s", 30)]
    [InlineData("2m", 120)]
    [InlineData("1.5", 1.5)]
    public void Durations_parse(string text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), DurationParser.Parse(text));

    [Fact]
    public void Help_lists_every_command()
    {
        var (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "record", "export", "report" })
            Assert.Contains(command, output);
    }
}
