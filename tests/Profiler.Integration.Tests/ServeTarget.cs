namespace Profiler.Integration.Tests;

/// <summary>`SAMPLE serve`: a sample that allocates steadily until it is killed, for attaching to.</summary>
static class ServeTarget
{
    /// <summary>Starts it and returns once it says it is ready; disposing the result kills it.</summary>
    public static RunningProcess Start(string sample, ProcessOptions? options = null)
    {
        var target = ProcessRunner.Start(RepoPaths.Sample(sample), ["serve"], options);
        try
        {
            string? first = target.ReadLine(TimeSpan.FromSeconds(60));
            Assert.True(first?.StartsWith("ready", StringComparison.Ordinal) == true,
                $"{target.CommandLine} said '{first}' instead of ready: {target.StandardErrorSoFar}");
            return target;
        }
        catch
        {
            target.Dispose();
            throw;
        }
    }
}
