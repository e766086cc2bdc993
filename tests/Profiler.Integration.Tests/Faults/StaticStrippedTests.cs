using Profiler.Core.Recording;

namespace Profiler.Integration.Tests.Faults;

/// <summary>A statically linked, stripped executable carries an allocator memprof cannot find by
/// symbol: its calls go uncounted, so the counters must not be called exact, and the recording
/// says why. Built with symbols, the same program is counted in full.</summary>
public sealed class StaticStrippedTests
{
    /// <summary>5,000 malloc/free pairs, the ground truth the counters are held to.</summary>
    const string Program = """
        #include <stdlib.h>
        #include <string.h>

        int main(void)
        {
            for (int i = 0; i < 5000; i++) { char *p = malloc(64 + i % 100); memset(p, 1, 64); free(p); }
            return 0;
        }
        """;

    static (RawRecording Recording, string Report) Record(CompiledC program)
    {
        string output = Path.Combine(program.Folder, "static.memprof");
        var result = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", output, "--", program.Path_);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var report = CliRunner.Run("report", output);
        Assert.True(report.ExitCode == 0, report.Stderr);
        return (RecordingReader.Read(output), report.Stdout);
    }

    static string CountersLine(string report) => report.Split('\n').Single(l => l.StartsWith("Counters:"));

    [Fact]
    public void Counters_of_a_stripped_static_program_are_not_called_exact()
    {
        RootRequired.Check();
        using var program = new CompiledC("static", Program, "-static");
        ProcessRunner.RunChecked("strip", [program.Path_]);
        var (recording, report) = Record(program);

        // The program's 5,000 calls went uncounted: what the counters hold is not its heap.
        var last = recording.Counters.Where(c => c.Pid == recording.Header.TargetPid).ToList();
        Assert.True(last.Count == 0 || last[^1].Allocations < 5000, $"{last.LastOrDefault()}");
        const string why = "static is statically linked and stripped: its allocator could not be found, so only calls through";
        Assert.Contains(why, recording.Header.Mode);
        if (last.Count > 0)
        {
            Assert.Contains("counted, not exact: " + why, CountersLine(report));
            Assert.DoesNotContain("(exact", report);
        }
    }

    [Fact]
    public void A_static_program_with_symbols_is_counted_in_full()
    {
        RootRequired.Check();
        using var program = new CompiledC("static", Program, "-static");
        var (recording, report) = Record(program);
        Assert.DoesNotContain("could not be found", recording.Header.Mode);
        var last = recording.Counters.Last(c => c.Pid == recording.Header.TargetPid);
        Assert.InRange(last.Allocations, 5000UL, 5100UL);
        // (Its live bytes are another matter: glibc's malloc linked in is not recognized as glibc's.)
        Assert.DoesNotContain("could not be found", CountersLine(report));
    }
}
