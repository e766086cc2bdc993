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

    /// <summary>The environment variable naming the memprof executable users run (what `./memprof`
    /// builds: native code, compiled ahead of time). scripts/test.sh sets it, so that every test that
    /// runs memprof as its own process runs that build; unset, they run this build's memprof.dll.</summary>
    public const string ExecutableVariable = "MEMPROF_EXECUTABLE";

    static string Dll => Path.Combine(AppContext.BaseDirectory, "memprof.dll");

    /// <summary>The words that start memprof as its own process: the shipped executable, or `dotnet memprof.dll`.</summary>
    public static string[] Command =>
        Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } executable ? [executable] : ["dotnet", Dll];

    /// <summary><see cref="Command"/> as one shell word list, for a terminal's command line.</summary>
    public static string CommandLine => string.Join(' ', Command);

    /// <summary>memprof as its own process, ARGS… after it, as words, for a command that runs it (setsid, runuser).</summary>
    public static string[] OwnProcessWords(params string[] args) => [.. Command, .. args];

    /// <summary>Starts memprof as its own process, the way a user runs it.</summary>
    public static RunningProcess StartOwnProcess(params string[] args) => ProcessRunner.Start(Command[0], [.. Command.Skip(1), .. args]);

    /// <summary>As <see cref="StartOwnProcess(string[])"/>, with variables set in its environment.</summary>
    public static RunningProcess StartOwnProcess(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        ProcessRunner.Start(Command[0], [.. Command.Skip(1), .. args], new ProcessOptions { Environment = environment });
}
