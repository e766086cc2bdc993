using Profiler.Core;
using Profiler.Core.Recording;

namespace Profiler.Integration.Tests.Faults;

/// <summary>Frees made while a process exits — atexit handlers, destructors — are counted (the
/// counters are read again at _exit, after them), and leak budgets are judged on those exact
/// counters instead of on a sampled estimate that one block's weight can make or break.</summary>
public sealed class ExitTimeFreeTests
{
    /// <summary>Allocates 1,000 blocks freed by an atexit handler and 500 freed by a destructor,
    /// and leaks one block of ARGV[1] bytes (0: none), never printing (stdio would keep a buffer).</summary>
    const string Program = """
        #include <stdlib.h>
        #include <string.h>

        static void *by_atexit[1000], *by_destructor[500];
        void *volatile leaked;

        static void free_at_exit(void) { for (int i = 0; i < 1000; i++) free(by_atexit[i]); }
        __attribute__((destructor)) static void free_in_destructor(void) { for (int i = 0; i < 500; i++) free(by_destructor[i]); }

        int main(int argc, char **argv)
        {
            for (int i = 0; i < 1000; i++) { by_atexit[i] = malloc(1024); memset(by_atexit[i], 1, 1024); }
            for (int i = 0; i < 500; i++) { by_destructor[i] = malloc(2048); memset(by_destructor[i], 2, 2048); }
            size_t leak = (size_t)atol(argv[1]);
            if (leak) { leaked = malloc(leak); memset(leaked, 3, leak); }
            atexit(free_at_exit);
            return 0;
        }
        """;

    [Theory]
    [InlineData("preload")]
    [InlineData("probe")]
    public void Frees_in_exit_handlers_and_destructors_are_counted(string mode)
    {
        RootRequired.Check();
        using var program = new CompiledC("exitfrees", Program);
        string output = Path.Combine(program.Folder, "exitfrees.memprof");
        var result = CliRunner.Run("record", "--mode", mode, "--no-firefox", "-o", output, "--", program.Path_, "0");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var recording = RecordingReader.Read(output);
        var last = recording.Counters.Last(c => c.Pid == recording.Header.TargetPid);
        Assert.InRange(last.Frees, 1500UL, 1600UL);
        Assert.InRange(last.FreedBytes, 1000UL * 1024 + 500 * 2048, 1000UL * 1040 + 500 * 2064 + 64 * 1024);
        Assert.True(last.LiveBytesKnown);
        // What glibc itself keeps to the end, at most a few kilobytes; none of the program's blocks.
        Assert.InRange(last.LiveBytes, 0, 8 * 1024);
    }

    [Fact]
    public void A_leak_budget_is_judged_on_the_exact_counters()
    {
        RootRequired.Check();
        using var program = new CompiledC("exitfrees", Program);
        string output = Path.Combine(program.Folder, "exitfrees.memprof");
        // One 100 KiB block leaked: at the default rate a sample catches it one time in five.
        var result = CliRunner.Run("record", "--no-firefox", "-o", output, "--", program.Path_, "102400");
        Assert.True(result.ExitCode == 0, result.Stderr);

        var over = CliRunner.Run("check", output, "--max-leaked", "99KiB");
        Assert.True(over.ExitCode == (int)ExitCode.BudgetExceeded, $"exit {over.ExitCode}: {over.Stdout}{over.Stderr}");
        Assert.Matches(@"FAIL max-leaked: 100(\.\d)? KiB leaked", over.Stdout);
        Assert.DoesNotContain("~", over.Stdout.Split('\n')[1]);

        var under = CliRunner.Run("check", output, "--max-leaked", "110KiB");
        Assert.True(under.ExitCode == 0, $"exit {under.ExitCode}: {under.Stdout}{under.Stderr}");
        var none = CliRunner.Run("check", output, "--fail-on-leak");
        Assert.Equal((int)ExitCode.BudgetExceeded, none.ExitCode);
    }
}
