using Profiler.Core.Recording;

namespace Profiler.Integration.Tests.Faults;

/// <summary>An exec replaces the process's heap: what the first image left live is released at
/// the exec (not leaked), and the counters, which restart in the new image, cover both.</summary>
public sealed class ExecImageTests
{
    /// <summary>First image: keeps 100 blocks of 1,000 B, waits for the counters to be read, and
    /// execs itself; second image: leaks 10 blocks of 3,000 B.</summary>
    const string Program = """
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>

        void *volatile kept[100];

        int main(int argc, char **argv)
        {
            if (argc == 1)
            {
                for (int i = 0; i < 100; i++) { kept[i] = malloc(1000); memset(kept[i], 1, 1000); }
                usleep(400 * 1000);
                execl(argv[0], argv[0], "again", (char *)0);
                return 1;
            }
            for (int i = 0; i < 10; i++) { kept[i] = malloc(3000); memset(kept[i], 2, 3000); }
            return 0;
        }
        """;

    [Fact]
    public void The_first_images_blocks_are_released_at_the_exec_and_counters_cover_both_images()
    {
        RootRequired.Check();
        using var program = new CompiledC("execself", Program);
        string output = Path.Combine(program.Folder, "exec.memprof");
        var result = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", output, "--", program.Path_);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var report = CliRunner.Run("report", output);
        Assert.True(report.ExitCode == 0, report.Stderr);
        var lines = report.Stdout.Split('\n');

        var exec = lines.Single(l => l.StartsWith("Exec:"));
        Assert.Matches(@"Exec:\s+\d+ blocks \(", exec);
        int released = int.Parse(System.Text.RegularExpressions.Regex.Match(exec, @"Exec:\s+(\d+) blocks").Groups[1].Value);
        Assert.InRange(released, 100, 110);
        // Only the second image's 30,000 B are leaked (stdio keeps nothing: the program prints nothing).
        Assert.Matches(@"Leaked:\s+(29|30),\d{3} B in 10 blocks", lines.Single(l => l.StartsWith("Leaked:")));

        var recording = RecordingReader.Read(output);
        var raw = recording.Counters.Where(c => c.Pid == recording.Header.TargetPid).ToList();
        // The second image's counters started over …
        Assert.Contains(raw.Zip(raw.Skip(1)), pair => pair.Second.Allocations < pair.First.Allocations);
        // … and the report's cover both images: 100 + 10 of the program's, and glibc's few.
        var counters = lines.Single(l => l.StartsWith("Counters:"));
        long calls = long.Parse(System.Text.RegularExpressions.Regex.Match(counters, @"B in ([\d,]+) calls").Groups[1].Value.Replace(",", ""));
        Assert.InRange(calls, 110, 130);
        Assert.Contains("counted, not exact: an exec replaced an image that had allocated", counters);
    }
}
