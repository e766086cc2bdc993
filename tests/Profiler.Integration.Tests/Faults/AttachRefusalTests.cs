using System.Diagnostics;
using Profiler.Core;

namespace Profiler.Integration.Tests.Faults;

/// <summary>Targets that cannot be recorded are refused with one line and the right exit code,
/// and no empty recording is left behind.</summary>
public sealed class AttachRefusalTests : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-refusal");

    public void Dispose() => _dir.Delete(recursive: true);

    string Output => Path.Combine(_dir.FullName, "target.memprof");

    void AssertNoRecordingLeft()
    {
        Assert.False(File.Exists(Output));
        Assert.False(File.Exists(Output + ".partial"));
    }

    [Fact]
    public void A_zombie_is_no_process_to_record()
    {
        RootRequired.Check();
        // The shell's background child exits; the shell becomes `sleep`, which never reaps it.
        using var parent = ProcessRunner.Start("/bin/sh", ["-c", "sleep 0 & exec sleep 20"]);
        int zombie = 0;
        var sw = Stopwatch.StartNew();
        while (zombie == 0 && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{parent.Id}/task"))
                foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    if (Collectors.Linux.Procfs.ProcessState.Read(int.Parse(child)) == 'Z') zombie = int.Parse(child);
            Thread.Sleep(20);
        }
        Assert.True(zombie != 0, "no zombie appeared");
        var result = CliRunner.Run("record", "--pid", zombie.ToString(), "-o", Output);
        Assert.Equal((int)ExitCode.TargetNotFound, result.ExitCode);
        Assert.Equal($"memprof: pid {zombie} has exited (it is a zombie, waiting for its parent to reap it)", result.Stderr.Trim());
        AssertNoRecordingLeft();
    }

    [Fact]
    public void A_process_without_an_allocator_leaves_no_empty_recording()
    {
        RootRequired.Check();
        // No libc at all: nothing defines malloc.
        using var program = new CompiledC("nomalloc", """
            void _start(void)
            {
                for (;;) __asm__ volatile("mov $34, %%eax; syscall" ::: "rax", "rcx", "r11", "memory"); /* pause() */
            }
            """, "-nostdlib", "-static");
        using var target = ProcessRunner.Start(program.Path_, []);
        Thread.Sleep(200);
        var result = CliRunner.Run("record", "--pid", target.Id.ToString(), "-o", Output);
        Assert.Equal((int)ExitCode.CollectorFailed, result.ExitCode);
        Assert.Contains("nothing to probe", result.Stderr.Trim().Split('\n')[^1]);
        AssertNoRecordingLeft();
        Assert.False(target.HasExited, "the target was harmed");
    }

    [Fact]
    public void Without_root_the_error_is_one_formatted_line()
    {
        RootRequired.Check();
        var run = ProcessRunner.Run("runuser", ["-u", "nobody", "--", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp",
            .. CliRunner.OwnProcessWords("record", "-o", "/tmp/memprof-nobody-test.memprof", "--", "/bin/true")],
            new ProcessOptions { WorkingDirectory = "/tmp" });
        run.EnsureExitCode((int)ExitCode.PermissionDenied);
        var line = Assert.Single(run.Stderr.Trim().Split('\n'));
        Assert.StartsWith("memprof: cannot load the BPF programs", line);
        Assert.DoesNotContain("%", line);
        Assert.False(File.Exists("/tmp/memprof-nobody-test.memprof"));
        Assert.False(File.Exists("/tmp/memprof-nobody-test.memprof.partial"));
    }
}
