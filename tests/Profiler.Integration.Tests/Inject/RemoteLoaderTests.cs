using Profiler.Collectors.Linux.Inject;
using Xunit.Abstractions;

namespace Profiler.Integration.Tests.Inject;

/// <summary>Loading a library into running processes for real: the library's constructor runs
/// on the thread caught at a safe point, the program's own checks of its data pass, its
/// output and exit status are those of an undisturbed run, and nothing is left behind.</summary>
public sealed class RemoteLoaderTests(InjectPrograms programs, ITestOutputHelper output) : IClassFixture<InjectPrograms>
{
    [Fact]
    public void Loads_into_a_single_threaded_allocating_program()
    {
        RootRequired.Check();
        using var target = new DetachedTarget(programs.Target, "0", DetachedTarget.Stop);
        target.WaitReady();

        var result = new RemoteLoader().Load(target.Pid, programs.Library);

        AssertLoaded(result, target.Pid, programs.Library);
        TargetChecks.AssertLeftClean(target.Pid);
        Assert.Equal((0, "ready\nok threads=0\n"), target.Finish());
    }

    void AssertLoaded(RemoteLoadResult result, int pid, string library)
    {
        output.WriteLine($"{Path.GetFileName(library)}: thread {result.Tid} at {result.SafePoint}; safe point after {result.ToSafePoint.TotalMilliseconds:0.###} ms, " +
                         $"dlopen {result.Call.TotalMilliseconds:0.###} ms, total {result.Total.TotalMilliseconds:0.###} ms, {result.Rejected?.Count ?? 0} rejected");
        Assert.True(result.Loaded, result.Failure);
        Assert.False(result.AlreadyLoaded);
        Assert.NotEqual(0UL, result.Handle);
        TargetChecks.AssertMapped(pid, library);
        Assert.Equal($"{pid} {result.Tid}\n", InjectPrograms.RanFile(library));
    }
}
