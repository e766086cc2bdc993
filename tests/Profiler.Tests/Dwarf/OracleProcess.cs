namespace Profiler.Tests.Dwarf;

/// <summary>Runs a command-line symbolizer with addresses on its standard input.</summary>
internal static class OracleProcess
{
    private static readonly ProcessOptions Options = ProcessOptions.CLocale with { Timeout = TimeSpan.FromMinutes(3) };

    public static string[] Run(string tool, IEnumerable<string> arguments, IEnumerable<string> inputLines) =>
        ProcessRunner.RunChecked(tool, arguments, Options with { InputLines = inputLines }).Stdout.Split('\n');
}
