namespace Profiler.Integration.Tests;

public sealed class LaunchTests
{
    [Fact]
    public void A_launched_commands_exit_code_passes_through()
    {
        RootRequired.Check();
        var dir = Directory.CreateTempSubdirectory("memprof-launch");
        var result = CliRunner.Run("record", "--no-firefox", "-o", Path.Combine(dir.FullName, "sh.memprof"), "--", "/bin/sh", "-c", "exit 7");
        Assert.True(result.ExitCode == 7, $"exit {result.ExitCode}: {result.Stderr}");
        dir.Delete(recursive: true);
    }
}
