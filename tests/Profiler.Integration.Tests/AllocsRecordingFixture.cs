using Profiler.Core.Model;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>Records samples/bin/allocs-fp once, with every call traced, for the tests that read it.</summary>
public sealed class AllocsRecordingFixture : IDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), $"memprof-it-{Guid.NewGuid():N}");
    public string Recording => Path.Combine(Directory, "allocs.memprof");
    public string Firefox => Path.Combine(Directory, "allocs.json.gz");
    internal CliResult Result { get; }
    internal IReadOnlyList<ManifestSite> Manifest { get; }
    public ProfileModel Model { get; }

    public AllocsRecordingFixture()
    {
        RootRequired.Check();
        System.IO.Directory.CreateDirectory(Directory);
        var sample = RepoPaths.Sample("allocs-fp");
        Manifest = Integration.Tests.Manifest.Read(sample);
        Result = CliRunner.Run("record", "--rate", "1", "-o", Recording, "--", sample);
        Assert.True(Result.ExitCode == 0, $"record failed ({Result.ExitCode}): {Result.Stderr}");
        Model = RecordingLoader.Load(Recording, TextWriter.Null);
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
