namespace Profiler.Integration.Tests.Faults;

/// <summary>A launched command whose parent was sampled before fork, recorded without following
/// its children: the children run unrecorded and unharmed. (On kernels that turn a probed nop5
/// marker into a call to a per-process trampoline, the child inherits the call but not the
/// trampoline; the preload library puts the nop back in children nobody probes.)</summary>
public sealed class NoFollowForkTests
{
    /// <summary>The parent allocates and keeps 12.5 MiB (sampled at any rate), then forks
    /// children that each allocate and free 4 MiB and exit 0; it exits with the number of
    /// children that did not exit 0 (killed by a signal or otherwise).</summary>
    const string Forker = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/wait.h>
        #include <unistd.h>

        int main(int argc, char **argv)
        {
            int children = atoi(argv[1]);
            void *kept[200];
            for (int i = 0; i < 200; i++) { kept[i] = malloc(64 * 1024); memset(kept[i], 1, 64 * 1024); }
            for (int c = 0; c < children; c++) {
                pid_t pid = fork();
                if (pid < 0) return 100;
                if (pid == 0) {
                    for (int i = 0; i < 64; i++) { char *b = malloc(64 * 1024); memset(b, 2, 64 * 1024); free(b); }
                    _exit(0);
                }
            }
            int bad = 0;
            for (int c = 0; c < children; c++) {
                int status;
                if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) bad++;
            }
            for (int i = 0; i < 200; i++) free(kept[i]);
            fprintf(stderr, "%d of %d children failed\n", bad, children);
            return bad;
        }
        """;

    [Theory]
    [InlineData("session", "512KiB", 5)]
    [InlineData("multi", "512KiB", 5)]
    [InlineData("classic", "512KiB", 5)]
    [InlineData("session", "1", 200)]
    public void Children_of_a_no_follow_launch_all_exit_0(string probes, string rate, int children)
    {
        RootRequired.Check();
        using var program = new CompiledC("forker", Forker);
        string output = Path.Combine(program.Folder, "forker.memprof");
        var previous = Environment.GetEnvironmentVariable("MEMPROF_PROBES");
        Environment.SetEnvironmentVariable("MEMPROF_PROBES", probes);
        try
        {
            var result = CliRunner.Run("record", "--no-follow", "--no-firefox", "--rate", rate, "-o", output, "--", program.Path_, children.ToString());
            Assert.Contains("in-process sampling", result.Stderr);
            Assert.True(result.ExitCode == 0, $"exit {result.ExitCode} (the number of children that failed): {result.Stderr}");
            // The parent was recorded (its samples are what set the markers up), its children not.
            var recording = Profiler.Core.Recording.RecordingReader.Read(output);
            Assert.True(recording.Events.Count > 0, "the parent's allocations were not sampled");
            Assert.All(Enumerable.Range(0, recording.Events.Count), i => Assert.Equal(recording.Header.TargetPid, recording.Events.Pid[i]));
        }
        finally
        {
            Environment.SetEnvironmentVariable("MEMPROF_PROBES", previous);
        }
    }

    [Fact]
    public void Followed_children_are_still_sampled()
    {
        RootRequired.Check();
        using var program = new CompiledC("forker", Forker);
        string output = Path.Combine(program.Folder, "forker.memprof");
        var result = CliRunner.Run("record", "--no-firefox", "--rate", "1", "-o", output, "--", program.Path_, "3");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var recording = Profiler.Core.Recording.RecordingReader.Read(output);
        var childPids = recording.Forks.Select(f => f.Pid).ToHashSet();
        Assert.Equal(3, childPids.Count);
        // Every child's 64 allocations (and their frees) reach the recording through its markers.
        foreach (var child in childPids)
        {
            int allocations = Enumerable.Range(0, recording.Events.Count)
                .Count(i => recording.Events.Pid[i] == child && recording.Events.Kind[i] == EventKind.Alloc && recording.Events.Size[i] == 64 * 1024);
            Assert.Equal(64, allocations);
        }
    }
}
