using System.Diagnostics;
using Xunit.Abstractions;

namespace Profiler.Tests.Elf;

/// <summary>Runs binutils and gcc, which serve as the reference the ELF reader is checked against.
/// A test whose tool or input file is absent passes after saying so in its output, since
/// xunit 2 has no way to skip at run time.</summary>
internal static class SystemTools
{
    public const string Libc = "/lib/x86_64-linux-gnu/libc.so.6";
    public const string StrippedPie = "/usr/bin/ls";

    public static bool IsInstalled(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, tool)));

    /// <summary>True, after writing why to the test output, when a prerequisite is absent.</summary>
    public static bool Missing(ITestOutputHelper output, string[] tools, params string[] files)
    {
        var absent = tools.Where(tool => !IsInstalled(tool)).Select(tool => $"tool '{tool}'")
            .Concat(files.Where(file => !File.Exists(file)).Select(file => $"file {file}"))
            .ToList();
        if (absent.Count == 0)
            return false;
        output.WriteLine($"SKIPPED: {string.Join(", ", absent)} not available, so this check cannot run here.");
        return true;
    }

    public static string Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        // Untranslated messages, so the parsers see the English text they expect.
        start.Environment["LC_ALL"] = "C";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {tool}");
        var error = process.StandardError.ReadToEndAsync();
        string text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {error.Result}");
        return text;
    }

    public static IEnumerable<string> Lines(string text) => text.Split('\n');
}
