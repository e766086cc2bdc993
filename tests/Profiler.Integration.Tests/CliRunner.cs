using Profiler.Cli;

namespace Profiler.Integration.Tests;

sealed record CliResult(int ExitCode, string Stdout, string Stderr);

static class CliRunner
{
    /// <summary>Runs memprof in this process, as the launcher would, capturing its output.</summary>
    public static CliResult Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = MemprofCli.RunAsync(args, stdout, stderr).GetAwaiter().GetResult();
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}
