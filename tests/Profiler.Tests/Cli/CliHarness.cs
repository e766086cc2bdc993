using Profiler.Cli;

namespace Profiler.Tests.Cli;

/// <summary>Runs memprof in this process and checks its errors are the one-line kind.</summary>
static class CliHarness
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = MemprofCli.RunAsync(args, stdout, stderr).GetAwaiter().GetResult();
        return (code, stdout.ToString(), stderr.ToString());
    }

    public static void AssertOneLineError(string stderr, string expected)
    {
        var lines = stderr.Trim().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("memprof: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", stderr);
    }
}
