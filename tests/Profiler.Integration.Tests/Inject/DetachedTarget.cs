using System.Diagnostics;

namespace Profiler.Integration.Tests.Inject;

/// <summary>A program run as a grandchild, through a shell that records its output and exit
/// status. Not this process's child: .NET reaps its own children with waitpid, which would
/// also swallow the ptrace stops of a child this process traces.</summary>
sealed class DetachedTarget : IDisposable
{
    readonly Process _shell;
    readonly string _dir;

    /// <summary>The argument that stands for <see cref="StopFile"/>.</summary>
    public const string Stop = "{stop}";

    public DetachedTarget(string program, params string[] args)
    {
        _dir = Directory.CreateTempSubdirectory("memprof-target-").FullName;
        StopFile = Path.Combine(_dir, "stop");
        string quoted = string.Join(' ', new[] { program }.Concat(args.Select(a => a == Stop ? StopFile : a)).Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        string script = $"{quoted} > '{_dir}/out' 2> '{_dir}/err' & echo $!; wait $!; echo $? > '{_dir}/rc'";
        _shell = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", script }, RedirectStandardOutput = true })!;
        Pid = int.Parse(_shell.StandardOutput.ReadLine()!);
    }

    public int Pid { get; }

    /// <summary>inject_target stops allocating once this file exists.</summary>
    public string StopFile { get; }

    public string Output => File.Exists(Path.Combine(_dir, "out")) ? File.ReadAllText(Path.Combine(_dir, "out")) : "";

    public string Errors => File.Exists(Path.Combine(_dir, "err")) ? File.ReadAllText(Path.Combine(_dir, "err")) : "";

    public bool Running => Collectors.Linux.Procfs.ProcessState.IsAlive(Pid);

    /// <summary>Waits for the program's first line (it prints "ready" once it runs).</summary>
    public void WaitReady()
    {
        var clock = Stopwatch.StartNew();
        while (!Output.Contains("ready"))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the target never became ready: {Errors}");
            Thread.Sleep(5);
        }
        // Past start-up: every library it links is mapped, its threads started.
        Thread.Sleep(50);
    }

    /// <summary>Stops the program (the stop file, or a signal) and returns its exit status and output.</summary>
    public (int ExitCode, string Output) Finish(int? signal = null)
    {
        if (signal is { } s) TargetChecks.Kill(Pid, s);
        else File.WriteAllText(StopFile, "");
        Assert.True(_shell.WaitForExit(30_000), "the target did not end within 30 s");
        return (int.Parse(File.ReadAllText(Path.Combine(_dir, "rc")).Trim()), Output);
    }

    public void Dispose()
    {
        if (!_shell.HasExited)
        {
            TargetChecks.Kill(Pid, 9);
            _shell.WaitForExit(10_000);
        }
        _shell.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
