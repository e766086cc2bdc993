using System.Diagnostics;

namespace Profiler.Tests.Dwarf;

/// <summary>Runs a command-line symbolizer with addresses on its standard input.</summary>
internal static class OracleProcess
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    public static string[] Run(string tool, IEnumerable<string> arguments, IEnumerable<string> inputLines)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["LC_ALL"] = "C";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {tool}");
        // Feed stdin while reading stdout, so a full pipe cannot deadlock the two processes.
        var writer = Task.Run(() =>
        {
            using var stdin = process.StandardInput;
            foreach (var line in inputLines)
                stdin.Write(line + "\n");
        });
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{tool} did not finish within {Timeout}");
        }
        writer.GetAwaiter().GetResult();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{tool} exited with {process.ExitCode}: {errors.Result}");
        return output.Result.Split('\n');
    }
}
