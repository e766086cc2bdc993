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
        var result = FirefoxLoader.Totals(FirefoxTestFiles.ExampleProfile);
        Assert.Equal(new LoaderTotals(RetainedBytes: 6144, AllocatedBytes: 11776, DeallocationSitesBytes: 5632, DeallocatedBytes: 5632), result);
        using var profile = ProfileJson.Load(FirefoxTestFiles.ExampleProfile);
        var views = NativeAllocationViews.Of(profile.RootElement.GetProperty("threads")[0].GetProperty("nativeAllocations"))!;
        Assert.Equal(result, new LoaderTotals(views.RetainedBytes, views.AllocatedBytes, views.DeallocationSitesBytes, views.DeallocatedBytes));
    }

    /// <summary>
    /// 100 B allocated and freed without a stack, 200 B allocated without a stack and freed with
    /// one, a free of 400 B never allocated, 50 B allocated and freed, 30 B kept: each way the two
    /// deallocation views can part, and the views computed here part as the profiler's do.
    /// </summary>
    [Fact]
    public void Native_allocation_views_are_computed_as_the_profiler_computes_them()
    {
        var builder = new ProfileBuilder("views", startTimeEpochMs: 1_700_000_000_000);
        var lib = builder.AddLib(new LibInfo("app", "/usr/bin/app", "app", "/usr/bin/app", "00112233445566778899AABBCCDDEEFF0", null, "x86_64"));
        var main = builder.AddThread(builder.AddProcess(1, "app", 0), 1, "app", isMain: true);
        var make = builder.InternStack(builder.InternFrame(builder.InternFunc("app::make", lib), 0x100));
        var drop = builder.InternStack(builder.InternFrame(builder.InternFunc("app::drop", lib), 0x200));
        builder.AddAllocation(main, 1, 100, make, 0x10, 1);
        builder.AddAllocation(main, 2, -100, null, 0x10, 1);
        builder.AddAllocation(main, 3, 200, null, 0x20, 1);
        builder.AddAllocation(main, 4, -200, drop, 0x20, 1);
        builder.AddAllocation(main, 5, -400, drop, 0x30, 1);
        builder.AddAllocation(main, 6, 50, make, 0x40, 1);
        builder.AddAllocation(main, 7, -50, drop, 0x40, 1);
        builder.AddAllocation(main, 8, 30, make, 0x50, 1);
        using var profile = ProfileJson.Parse(builder);

        var views = NativeAllocationViews.Of(profile.RootElement.GetProperty("threads")[0].GetProperty("nativeAllocations"));

        Assert.Equal(new NativeAllocationViews(AllocatedBytes: 180, RetainedBytes: 30, DeallocationSitesBytes: 650, DeallocatedBytes: 150,
            FreesWithoutStack: 1, UnpairedFrees: 1, FreesOfStacklessAllocations: 1), views);
        var path = Path.Combine(Path.GetTempPath(), $"firefox-views-{Guid.NewGuid():N}.json");
        try
        {
            using (var file = File.Create(path)) builder.WriteTo(file);
            Assert.Equal(new LoaderTotals(RetainedBytes: 30, AllocatedBytes: 180, DeallocationSitesBytes: 650, DeallocatedBytes: 150),
                FirefoxLoader.Totals(path));
        }
        finally
        {
            File.Delete(path);
        }
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
