using Profiler.Collectors.Linux.Session;

namespace Profiler.Tests.Collector.Session;

/// <summary>The build ids the live catalog gives are those readelf prints, also for a file
/// replaced at the same path during the session (a program rebuilt and run again): its ids are
/// remembered per file as it is, not per path.</summary>
public sealed class ElfBinaryCatalogTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("memprof-build-ids-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string ReadelfBuildId(string path)
    {
        var line = ProcessRunner.RunChecked("readelf", ["-n", path]).Stdout.Split('\n').Single(l => l.Contains("Build ID:", StringComparison.Ordinal));
        return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    [Fact]
    public void A_file_replaced_at_the_same_path_gets_its_own_build_id()
    {
        var catalog = new ElfBinaryCatalog();
        string program = Path.Combine(_dir, "program");
        File.Copy("/bin/true", program);
        Assert.Equal(ReadelfBuildId("/bin/true"), catalog.BuildId(program));
        Assert.Equal(ReadelfBuildId("/bin/true"), catalog.BuildId(program));

        File.Copy("/bin/ls", program, overwrite: true);
        Assert.NotEqual(ReadelfBuildId("/bin/true"), ReadelfBuildId("/bin/ls"));
        Assert.Equal(ReadelfBuildId("/bin/ls"), catalog.BuildId(program));

        File.Delete(program);
        Assert.Equal("", catalog.BuildId(program));
    }
}
