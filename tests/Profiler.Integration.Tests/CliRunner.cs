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

    static string Dll => Path.Combine(AppContext.BaseDirectory, "memprof.dll");

    /// <summary>`dotnet memprof.dll ARGS…` as words, for a command that runs memprof as its own
    /// process (setsid, runuser).</summary>
    public static string[] OwnProcessWords(params string[] args) => ["dotnet", Dll, .. args];

    /// <summary>Starts memprof as its own process, the way a user runs it.</summary>
    public static RunningProcess StartOwnProcess(params string[] args) => ProcessRunner.Start("dotnet", [Dll, .. args]);

    /// <summary>As <see cref="StartOwnProcess(string[])"/>, with variables set in its environment.</summary>
    public static RunningProcess StartOwnProcess(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        ProcessRunner.Start("dotnet", [Dll, .. args], new ProcessOptions { Environment = environment });
}
