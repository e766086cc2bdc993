using Profiler.Core.Model;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>One named function of the idioms sample with everything it allocated, summed over
/// the libc calls it made (its manifest sites).</summary>
sealed record IdiomsFunction(string Name, long Allocations, long AllocatedBytes, long Frees, long FreedBytes,
    long LiveBlocks, long LiveBytes)
{
    public static IReadOnlyList<IdiomsFunction> Of(IReadOnlyList<ManifestSite> manifest) =>
        manifest.GroupBy(s => s.Function).Select(g => new IdiomsFunction(g.Key, g.Sum(s => s.Allocations),
            g.Sum(s => s.AllocatedBytes), g.Sum(s => s.Frees), g.Sum(s => s.FreedBytes),
            g.Sum(s => s.LiveBlocksAtExit), g.Sum(s => s.LiveBytesAtExit))).ToList();
}

/// <summary>Records samples/bin/idioms-fp once at --rate 1 (in-process sampling, as `record`
/// launches by default), with its Firefox profile, for the tests that read it.</summary>
public sealed class IdiomsRecordingFixture : IDisposable
{
    public const string Variant = "idioms-fp";
    /// <summary>Where the sample's own code lives: a frame compiled from a file here is the program's.</summary>
    public static string SourceDirectory => Path.Combine(RepoPaths.Root, "samples", "rust", "idioms", "src") + "/";

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), $"memprof-idioms-{Guid.NewGuid():N}");
    public string Recording => Path.Combine(Directory, "idioms.memprof");
    public string Firefox => Path.Combine(Directory, "idioms.json.gz");
    internal IReadOnlyList<ManifestSite> Manifest { get; }
    internal IReadOnlyList<IdiomsFunction> Functions { get; }
    public ProfileModel Model { get; }

    public IdiomsRecordingFixture()
    {
        RootRequired.Check();
        System.IO.Directory.CreateDirectory(Directory);
        var sample = RepoPaths.Sample(Variant);
        Manifest = Integration.Tests.Manifest.Read(sample);
        Functions = IdiomsFunction.Of(Manifest);
        Assert.Equal(10, Functions.Count);
        var result = ExactRecording.Run(Recording, "record", "--rate", "1", "--mode", "preload", "-o", Recording, "--", sample);
        Assert.True(result.ExitCode == 0, $"record failed ({result.ExitCode}): {result.Stderr}");
        Assert.Contains("in-process sampling (preload library", result.Stderr);
        Model = RecordingLoader.Load(Recording, TextWriter.Null);
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
