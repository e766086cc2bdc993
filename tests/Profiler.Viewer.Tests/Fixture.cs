using Profiler.Core.Model;
using Profiler.Core.Recording;

namespace Profiler.Viewer.Tests;

/// <summary>
/// A real recording of the sample's leak workload (`allocs-fp leak`, every allocation recorded),
/// with its symbols. Ground truth from the sample's source (and its --manifest): leak_leaf,
/// called through leak_outer → leak_middle, leaks LEAK_BLOCKS = 10 blocks of LEAK_SIZE = 4096 bytes.
/// </summary>
public static class Fixture
{
    public const string LeakSite = "allocs::leak_leaf";
    public static readonly string[] LeakChain = ["allocs::leak_outer", "allocs::leak_middle", "allocs::leak_leaf"];
    public const long LeakedBytes = 10 * 4096;

    static readonly Lazy<ProfileModel> Model = new(() => Load("allocs-leak"));

    public static ProfileModel Leak => Model.Value;

    public static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", file);

    public static ProfileModel Load(string name)
    {
        var raw = RecordingReader.Read(PathOf(name + ".memprof"));
        return ProfileModelBuilder.Build(raw, FixtureSymbols.Read(PathOf(name + ".symbols.tsv")));
    }
}
