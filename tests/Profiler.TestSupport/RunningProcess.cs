using System.ComponentModel;
using System.Diagnostics;

namespace Profiler.TestSupport;

/// <summary>A child process whose outputs are captured whole while it runs. Disposing it kills
/// what is still running of it, children included, so no test leaves a process behind.</summary>
public sealed class RunningProcess : IDisposable
{
    readonly Process _process;
    readonly CapturedOutput _stdout;
    readonly CapturedOutput _stderr;
    readonly Task _input;
    readonly bool _interactive;

    RunningProcess(Process process, string commandLine, IEnumerable<string>? inputLines, bool interactive)
    {
        _process = process;
        CommandLine = commandLine;
        _interactive = interactive;
        _stdout = new CapturedOutput(process.StandardOutput);
        _stderr = new CapturedOutput(process.StandardError);
        // Fed while the outputs are read, so neither side can block on a full pipe.
        _input = interactive ? Task.CompletedTask : WriteAsync(process.StandardInput, inputLines ?? []);
    }

    /// <summary>Writes one line to its standard input (started with <see cref="ProcessOptions.Interactive"/>).</summary>
    public void Send(string line)
    {
        if (!_interactive) throw new InvalidOperationException($"{CommandLine} was not started interactive");
        _process.StandardInput.Write(line + "\n");
        _process.StandardInput.Flush();
    }

    /// <summary>Closes its standard input (started with <see cref="ProcessOptions.Interactive"/>): it reads the end.</summary>
    public void CloseInput()
    {
        if (!_interactive) throw new InvalidOperationException($"{CommandLine} was not started interactive");
        _process.StandardInput.Close();
    }

    /// <summary>The command as a shell would take it, for messages.</summary>
    public string CommandLine { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>What it has written to standard error so far.</summary>
    public string StandardErrorSoFar => _stderr.Text;

    /// <summary>What it has written to standard output so far.</summary>
    public string StandardOutputSoFar => _stdout.Text;

    /// <summary>Starts <paramref name="fileName"/> with each argument passed as it is (no shell);
    /// fails the test when the program cannot be started.</summary>
    public static RunningProcess Start(string fileName, IEnumerable<string> arguments, ProcessOptions? options = null)
    {
        options ??= new ProcessOptions();
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in options.Environment)
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        if (options.WorkingDirectory is not null)
            start.WorkingDirectory = options.WorkingDirectory;
        string commandLine = CommandLines.Format(fileName, start.ArgumentList);
        try
        {
            var process = Process.Start(start) ?? throw new InvalidOperationException($"{commandLine} did not start");
            return new RunningProcess(process, commandLine, options.InputLines, options.Interactive);
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"cannot start {commandLine}: {e.Message} (scripts/install-deps.sh installs the tools the tests use)");
            throw;
        }
    }

    /// <summary>The next line of its standard output; null once the output ended. Fails the test,
    /// killing the process, when none comes within <paramref name="timeout"/>.</summary>
    public string? ReadLine(TimeSpan timeout)
    {
        if (_stdout.TryReadLine(timeout, out var line))
            return line;
        Kill();
        Assert.Fail(ProcessResult.Describe(CommandLine, $"wrote no line within {timeout}; killed it and its children",
            _stdout.Text, _stderr.Text));
        return null;
    }

    /// <summary>Waits for it to exit and its outputs to end. Past <paramref name="timeout"/>, kills it
    /// and its children and fails the test with the command line and the tail of its outputs.</summary>
    public ProcessResult WaitForExit(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        if (!_process.WaitForExit(timeout))
        {
            Kill();
            Assert.Fail(ProcessResult.Describe(CommandLine, $"did not finish within {timeout}; killed it and its children",
                _stdout.Text, _stderr.Text));
        }
        var left = timeout - clock.Elapsed;
        if (!Task.WaitAll([_stdout.Completion, _stderr.Completion], left > TimeSpan.Zero ? left : TimeSpan.Zero))
            Assert.Fail(ProcessResult.Describe(CommandLine,
                $"exited with {_process.ExitCode} but its output stayed open (a process it started still holds it)",
                _stdout.Text, _stderr.Text));
        ObserveInput();
        return new ProcessResult(CommandLine, _process.Id, _process.ExitCode, _stdout.Text, _stderr.Text);
    }

    /// <summary>Kills it and its children, and waits until they are gone.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited in the meantime.
        }
        _process.WaitForExit(TimeSpan.FromSeconds(30));
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            Kill();
        _process.Dispose();
    }

    static async Task WriteAsync(StreamWriter stdin, IEnumerable<string> lines)
    {
        await using (stdin.ConfigureAwait(false))
            foreach (var line in lines)
                await stdin.WriteAsync(line + "\n").ConfigureAwait(false);
    }

    /// <summary>A child that exits without reading all its input breaks the pipe: that is its choice, not an error here.</summary>
    void ObserveInput()
    {
        try { _input.GetAwaiter().GetResult(); }
        catch (IOException) { }
    }
}
