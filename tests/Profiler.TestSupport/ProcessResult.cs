namespace Profiler.TestSupport;

/// <summary>How a finished process ended and everything it wrote.</summary>
public sealed record ProcessResult(string CommandLine, int ProcessId, int ExitCode, string Stdout, string Stderr)
{
    const int TailLines = 40;

    /// <summary>This result, after failing the test unless the process exited with 0.</summary>
    public ProcessResult EnsureSuccess() => EnsureExitCode(0);

    /// <summary>This result, after failing the test unless the process exited with <paramref name="expected"/>.</summary>
    public ProcessResult EnsureExitCode(int expected)
    {
        if (ExitCode != expected)
            Assert.Fail(Describe($"exited with {ExitCode} (expected {expected})"));
        return this;
    }

    /// <summary>The command line, what happened, and the last lines of each output: a failure message.</summary>
    public string Describe(string what) => Describe(CommandLine, what, Stdout, Stderr);

    internal static string Describe(string commandLine, string what, string stdout, string stderr) =>
        $"{commandLine}\n{what}\n{Tail("stderr", stderr)}{Tail("stdout", stdout)}";

    static string Tail(string name, string text)
    {
        var lines = text.TrimEnd('\n').Split('\n');
        if (text.Length == 0)
            return $"--- {name}: (empty)\n";
        string omitted = lines.Length > TailLines ? $" (last {TailLines} of {lines.Length} lines)" : "";
        return $"--- {name}{omitted}:\n{string.Join('\n', lines.TakeLast(TailLines))}\n";
    }
}
