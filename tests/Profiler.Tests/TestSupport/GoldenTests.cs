using Xunit.Sdk;

namespace Profiler.Tests.TestSupport;

/// <summary>Golden files: a match passes quietly; a difference leaves NAME.received.EXT beside the
/// golden and fails saying how to accept it.</summary>
public sealed class GoldenTests : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-golden");

    public void Dispose() => _dir.Delete(recursive: true);

    string In(string name) => Path.Combine(_dir.FullName, name);

    [Fact]
    public void A_difference_is_written_beside_the_golden_with_how_to_accept_it()
    {
        File.WriteAllText(In("report.md"), "old\n");
        var failure = Assert.Throws<FailException>(() => Golden.Verify(In("report.md"), "new\n"));
        Assert.Equal("new\n", File.ReadAllText(In("report.received.md")));
        Assert.Equal("old\n", File.ReadAllText(In("report.md")));
        Assert.Contains($"mv '{In("report.received.md")}' '{In("report.md")}'", failure.Message);
        Assert.Contains("MEMPROF_ACCEPT=1", failure.Message);
    }

    [Fact]
    public void A_missing_golden_is_a_difference()
    {
        var failure = Assert.Throws<FailException>(() => Golden.Verify(In("screen.txt"), "screen\n"));
        Assert.Contains("does not exist yet", failure.Message);
        Assert.Equal("screen\n", File.ReadAllText(In("screen.received.txt")));
    }

    [Fact]
    public void A_match_passes_and_removes_what_an_earlier_difference_left()
    {
        File.WriteAllText(In("junit.xml"), "<x/>");
        File.WriteAllText(In("junit.received.xml"), "<y/>");
        Golden.Verify(In("junit.xml"), "<x/>");
        Assert.False(File.Exists(In("junit.received.xml")));
    }

    [Fact]
    public void A_relative_path_is_taken_from_the_calling_source_files_folder()
    {
        var failure = Assert.Throws<FailException>(() => Golden.Verify("no-such-golden.txt", "x"));
        string expected = Path.Combine(Path.GetDirectoryName(ThisFile())!, "no-such-golden.txt");
        File.Delete(Path.Combine(Path.GetDirectoryName(ThisFile())!, "no-such-golden.received.txt"));
        Assert.StartsWith(expected + " does not exist yet", failure.Message);
    }

    static string ThisFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;
}
