namespace Profiler.Tests.Elf;

/// <summary>Runs binutils and gcc, which serve as the reference the ELF reader is checked against.
/// scripts/install-deps.sh installs them; a missing one fails the test rather than letting a
/// check pass without checking.</summary>
internal static class SystemTools
{
    public const string Libc = "/lib/x86_64-linux-gnu/libc.so.6";
    public const string StrippedPie = "/usr/bin/ls";

    /// <summary>Fails the test, naming what is absent, unless every tool and file is there.</summary>
    public static void Require(string[] tools, params string[] files) => Prerequisites.Require(tools, files);

    /// <summary>The tool's standard output; the test fails when it exits with an error.</summary>
    public static string Run(string tool, params string[] arguments) =>
        ProcessRunner.RunChecked(tool, arguments, ProcessOptions.CLocale).Stdout;

    public static IEnumerable<string> Lines(string text) => text.Split('\n');
}
