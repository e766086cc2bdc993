using System.Diagnostics;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Core;

namespace Profiler.Collectors.Linux;

/// <summary>
/// Starts a command stopped before its first instruction: a shell stops itself, memprof attaches
/// its per-process probes (they follow the task across exec), then lets it exec the command.
/// stdin, stdout and stderr are inherited.
/// </summary>
public sealed class TargetLauncher : IDisposable
{
    readonly Process _process;

    TargetLauncher(Process process, string executable)
    {
        _process = process;
        Executable = executable;
    }

    public int Pid => _process.Id;
    public string Executable { get; }
    public bool HasExited => _process.HasExited;

    /// <param name="environment">Variables set for the command (e.g. jemalloc's MALLOC_CONF).</param>
    /// <param name="outputPath">Where the command's stdout and stderr go instead of memprof's
    /// (the terminal UI owns the terminal); null: inherited.</param>
    public static TargetLauncher StartStopped(IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null,
        string? outputPath = null)
    {
        string executable = ResolveExecutable(command[0]);
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        psi.ArgumentList.Add("-c");
        if (outputPath is null)
        {
            psi.ArgumentList.Add("kill -STOP $$; exec \"$0\" \"$@\"");
        }
        else
        {
            psi.ArgumentList.Add("out=$0; kill -STOP $$; exec \"$@\" >\"$out\" 2>&1 </dev/null");
            psi.ArgumentList.Add(outputPath);
        }
        psi.ArgumentList.Add(executable);
        foreach (var arg in command.Skip(1)) psi.ArgumentList.Add(arg);
        var process = Process.Start(psi) ?? throw new ProfilerException(ExitCode.CollectorFailed, $"cannot start {command[0]}");
        var sw = Stopwatch.StartNew();
        while (ProcessState.Read(process.Id) != 'T')
        {
            if (process.HasExited || sw.Elapsed > TimeSpan.FromSeconds(10))
                throw new ProfilerException(ExitCode.CollectorFailed, $"cannot start {command[0]}: the launcher did not stop");
            System.Threading.Thread.Sleep(1);
        }
        return new TargetLauncher(process, executable);
    }

    public static string ResolveExecutable(string name)
    {
        if (name.Contains('/'))
        {
            if (!File.Exists(name)) throw new ProfilerException(ExitCode.FileNotFound, $"{name}: no such file");
            return Path.GetFullPath(name);
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            var candidate = Path.Combine(dir.Length == 0 ? "." : dir, name);
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new ProfilerException(ExitCode.FileNotFound, $"{name}: command not found");
    }

    public void Resume() => Native.Kill(_process.Id, Native.SIGCONT);

    public int WaitForExit()
    {
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose() => _process.Dispose();
}
