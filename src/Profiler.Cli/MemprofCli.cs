using System.CommandLine;
using Profiler.Cli.Commands;
using Profiler.Core;
using Profiler.Core.Files;

namespace Profiler.Cli;

public static class MemprofCli
{
    public static RootCommand BuildRoot(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand(
            "memprof — a low-overhead native memory profiler. Records heap allocations and frees of " +
            "native processes with eBPF, and turns recordings into Firefox Profiler profiles and reports.");
        root.Subcommands.Add(RecordCommand.Build(stdout, stderr));
        root.Subcommands.Add(ExportCommand.Build(stdout, stderr));
        root.Subcommands.Add(ReportCommand.Build(stdout, stderr));
        root.Subcommands.Add(CheckCommand.Build(stdout, stderr));
        root.Subcommands.Add(DiffCommand.Build(stdout, stderr));
        root.Subcommands.Add(OpenCommand.Build(stdout, stderr));
        root.Subcommands.Add(ViewCommand.Build(stdout, stderr));
        root.Subcommands.Add(ImportCommand.Build(stdout, stderr));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = BuildRoot(stdout, stderr);
        // Signals are ours (TerminationSignals): System.CommandLine's handler throws on a second one.
        var config = new InvocationConfiguration
        {
            Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
        };
        TerminationSignals.Install();
        try
        {
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                // One line and the usage exit code, as for every other usage error.
                await stderr.WriteLineAsync($"memprof: {string.Join("; ", parsed.Errors.Select(e => e.Message))} (see memprof --help)");
                return (int)ExitCode.UsageError;
            }
            return await parsed.InvokeAsync(config);
        }
        catch (ProfilerException e)
        {
            await stderr.WriteLineAsync($"memprof: {e.Message}");
            return e.ProcessExitCode;
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException)
        {
            // An output path in a folder that does not exist, a file gone meanwhile.
            await stderr.WriteLineAsync($"memprof: {e.Message}");
            return (int)ExitCode.FileNotFound;
        }
        catch (UnauthorizedAccessException e)
        {
            await stderr.WriteLineAsync($"memprof: {e.Message}");
            return (int)ExitCode.PermissionDenied;
        }
        catch (IOException e)
        {
            // Outputs report their own failures (OutputFile); this is the last line of defence:
            // one line, never a stack trace.
            await stderr.WriteLineAsync($"memprof: {OutputFile.Reason(e)}");
            return (int)ExitCode.OutputFailed;
        }
        catch (OperationCanceledException)
        {
            await stderr.WriteLineAsync("memprof: cancelled");
            return (int)ExitCode.Cancelled;
        }
    }

    public static string Version =>
        typeof(MemprofCli).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
