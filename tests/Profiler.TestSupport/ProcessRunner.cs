namespace Profiler.TestSupport;

/// <summary>Runs programs for tests: the memprof CLI, the samples, and the oracles the results
/// are checked against (binutils, gdb, llvm-symbolizer, go tool pprof, node, …).</summary>
public static class ProcessRunner
{
    /// <summary>Runs <paramref name="fileName"/> to its end, each argument passed as it is (no shell),
    /// and returns its exit code and whole outputs. Fails the test when it cannot start or does not
    /// finish within the options' timeout (then it and its children are killed).</summary>
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, ProcessOptions? options = null)
    {
        options ??= new ProcessOptions();
        using var process = RunningProcess.Start(fileName, arguments, options);
        return process.WaitForExit(options.Timeout);
    }

    /// <summary><see cref="Run"/>, then fails the test with the command line and the tail of its
    /// outputs unless it exited with 0.</summary>
    public static ProcessResult RunChecked(string fileName, IEnumerable<string> arguments, ProcessOptions? options = null) =>
        Run(fileName, arguments, options).EnsureSuccess();

    /// <summary>Starts <paramref name="fileName"/> and leaves it running; see <see cref="RunningProcess"/>.</summary>
    public static RunningProcess Start(string fileName, IEnumerable<string> arguments, ProcessOptions? options = null) =>
        RunningProcess.Start(fileName, arguments, options);
}
