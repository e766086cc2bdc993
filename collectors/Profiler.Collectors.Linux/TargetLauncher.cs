using System.Diagnostics;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Core;

namespace Profiler.Collectors.Linux;

/// <summary>
/// Starts a command stopped before its first instruction: a shell stops itself, memprof attaches
/// its per-process probes (they follow the task across exec), then lets it exec the command.
/// stdin, stdout and stderr are inherited.
/// </summary>
public sealed class TargetLauncher : Session.ILaunchedCommand
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

    /// <summary>The file a command names, checked as exec would check it, so a command that cannot
    /// run is refused with its reason instead of being handed to the shell (which would answer 126
    /// or run a data file as a script).</summary>
    public static string ResolveExecutable(string name)
    {
        if (name.Length == 0) throw new ProfilerException(ExitCode.UsageError, "the command is empty");
        if (name.Contains('/')) return Checked(name, Path.GetFullPath(name));
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            // As the shell searches: the first executable regular file of that name.
            var candidate = Path.GetFullPath(Path.Combine(dir.Length == 0 ? "." : dir, name));
            if (Core.Files.FileProbe.Stat(candidate).Type == Core.Files.FileType.Regular && Native.Access(candidate, Native.X_OK) == 0)
                return Checked(name, candidate);
        }
        throw new ProfilerException(ExitCode.FileNotFound, $"{name}: command not found");
    }

    static string Checked(string name, string path)
    {
        switch (Core.Files.FileProbe.Stat(path).Type)
        {
            case Core.Files.FileType.Missing: throw new ProfilerException(ExitCode.FileNotFound, $"{name}: no such file");
            case Core.Files.FileType.Directory: throw new ProfilerException(ExitCode.WrongFileType, $"{name} is a directory, not a command");
            case Core.Files.FileType.Other: throw new ProfilerException(ExitCode.WrongFileType, $"{name} is not a regular file, not a command");
        }
        if (Native.Access(path, Native.X_OK) != 0)
            throw new ProfilerException(ExitCode.PermissionDenied, $"{name} is not executable (no execute permission)");
        Span<byte> start = stackalloc byte[4];
        int read;
        try
        {
            using var file = File.OpenRead(path);
            read = file.ReadAtLeast(start, 4, throwOnEndOfStream: false);
        }
        catch (UnauthorizedAccessException) { return path; /* executable but unreadable: exec decides */ }
        bool elf = read == 4 && start.SequenceEqual("\u007fELF"u8);
        bool script = read >= 2 && start[..2].SequenceEqual("#!"u8);
        if (!elf && !script)
            throw new ProfilerException(ExitCode.WrongFileType,
                $"{name} is neither an ELF executable nor a script starting with #! (to run it as a shell script: memprof record -- sh {name})");
        return path;
    }

    public int WaitForExit()
    {
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose() => _process.Dispose();
}
