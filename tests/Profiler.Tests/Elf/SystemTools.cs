using System.Diagnostics;
using Xunit.Abstractions;

namespace Profiler.Tests.Elf;

/// <summary>Runs binutils and gcc, which serve as the reference the ELF reader is checked against.
/// scripts/install-deps.sh installs them; a missing one fails the test rather than letting a
/// check pass without checking.</summary>
internal static class SystemTools
{
    public const string Libc = "/lib/x86_64-linux-gnu/libc.so.6";
    public const string StrippedPie = "/usr/bin/ls";

    public static bool IsInstalled(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, tool)));

    /// <summary>Fails the test when a prerequisite is absent; false otherwise (kept as a guard
    /// so call sites read `if (Missing(...)) return;`).</summary>
    public static bool Missing(ITestOutputHelper output, string[] tools, params string[] files)
    {
        var absent = tools.Where(tool => !IsInstalled(tool)).Select(tool => $"tool '{tool}'")
            .Concat(files.Where(file => !File.Exists(file)).Select(file => $"file {file}"))
            .ToList();
        if (absent.Count == 0)
            return false;
        output.WriteLine($"missing: {string.Join(", ", absent)}");
        Assert.Fail($"{string.Join(", ", absent)} not available; run scripts/install-deps.sh");
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
