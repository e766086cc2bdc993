using Profiler.Firefox;

namespace Profiler.Tests.Firefox;

/// <summary>
/// Checks exported profiles against the Firefox Profiler's own loader. Each test passes
/// without checking anything where <see cref="FirefoxLoader"/> cannot run.
/// </summary>
public class FirefoxLoaderTests
{
    [Fact]
    public void The_loader_reads_the_fixture_totals()
    {
        var result = FirefoxLoader.Run(FirefoxTestFiles.ExampleProfile);
        Assert.Equal(new LoaderResult(RetainedBytes: 6144, AllocatedBytes: 11776), result);
    }

    [Fact]
    public void A_rebuilt_fixture_has_the_fixture_totals()
    {
        var result = LoadWithFirefox(ExampleProfiles.LikeTheFixture(), gzip: true);
        Assert.Equal(new LoaderResult(RetainedBytes: 6144, AllocatedBytes: 11776), result);
    }

    [Fact]
    public void Frees_by_another_thread_in_the_main_thread_table_are_paired()
    {
        var (builder, expected) = ExampleProfiles.TwoThreads();
        using (var profile = ProfileJson.Parse(builder)) Assert.Empty(ProfileValidator.Validate(profile));

        var result = LoadWithFirefox(builder, gzip: false);
        Assert.Equal(new LoaderResult(expected.RetainedBytes, expected.AllocatedBytes), result);
    }

    static LoaderResult? LoadWithFirefox(ProfileBuilder builder, bool gzip)
    {
        var path = Path.Combine(Path.GetTempPath(), $"firefox-loader-{Guid.NewGuid():N}.json{(gzip ? ".gz" : "")}");
        try
        {
            using (var file = File.Create(path)) builder.WriteTo(file, gzip);
            return FirefoxLoader.Run(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
