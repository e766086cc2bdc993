using Xunit.Sdk;

namespace Profiler.Tests.TestSupport;

/// <summary>The runner every test starts processes with: what it passes, what it captures, and
/// what it does to a process that does not finish.</summary>
public sealed class ProcessRunnerTests
{
    [Fact]
    public void Arguments_reach_the_program_as_they_are_without_a_shell()
    {
        string[] words = ["two words", "it's", "$HOME", "*", "", "a\"b"];
        var result = ProcessRunner.RunChecked("printf", ["[%s]\\n", .. words]);
        Assert.Equal(string.Concat(words.Select(w => $"[{w}]\n")), result.Stdout);
    }

    [Fact]
    public void Both_outputs_are_captured_whole_however_large()
    {
        // Far more than a pipe holds (64 KiB), on both streams at once.
        var result = ProcessRunner.RunChecked("sh", ["-c", "seq 1 200000; seq 1 100000 >&2"]);
        Assert.Equal(200000, result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.EndsWith("\n200000\n", result.Stdout);
        Assert.Equal(100000, result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Input_lines_are_fed_while_the_output_is_read()
    {
        var lines = Enumerable.Range(0, 100000).Select(i => $"line {i}").ToList();
        var result = ProcessRunner.RunChecked("cat", [], new ProcessOptions { InputLines = lines });
        Assert.Equal(string.Concat(lines.Select(l => l + "\n")), result.Stdout);
    }

    [Fact]
    public void The_environment_is_changed_as_asked_and_otherwise_inherited()
    {
        var options = new ProcessOptions().WithEnvironment("MEMPROF_TEST_SET", "set value").WithEnvironment("PATH", null);
        var result = ProcessRunner.RunChecked("/usr/bin/env", [], options);
        var variables = result.Stdout.Split('\n');
        Assert.Contains("MEMPROF_TEST_SET=set value", variables);
        Assert.DoesNotContain(variables, v => v.StartsWith("PATH=", StringComparison.Ordinal));
        Assert.Contains(variables, v => v.StartsWith("HOME=", StringComparison.Ordinal));
    }

    [Fact]
    public void A_failing_command_reports_its_command_line_exit_code_and_output_tail()
    {
        var result = ProcessRunner.Run("sh", ["-c", "seq 1 100; echo broken >&2; exit 3"]);
        Assert.Equal(3, result.ExitCode);
        var failure = Assert.Throws<FailException>(() => result.EnsureSuccess());
        Assert.Contains("sh -c 'seq 1 100; echo broken >&2; exit 3'", failure.Message);
        Assert.Contains("exited with 3 (expected 0)", failure.Message);
        Assert.Contains("broken", failure.Message);
        Assert.Contains("(last 40 of 100 lines)", failure.Message);
        Assert.Contains("\n100\n", failure.Message);
        Assert.DoesNotContain("\n60\n", failure.Message);
    }

    [Fact]
    public void A_program_that_does_not_exist_fails_with_its_name()
    {
        var failure = Assert.Throws<FailException>(() => ProcessRunner.Run("memprof-no-such-tool", ["x"]));
        Assert.Contains("cannot start memprof-no-such-tool x", failure.Message);
        Assert.Contains("scripts/install-deps.sh", failure.Message);
    }

    [Fact]
    public void Past_its_timeout_the_process_and_its_children_are_killed_and_the_test_fails()
    {
        var options = new ProcessOptions { Timeout = TimeSpan.FromSeconds(2) };
        var failure = Assert.Throws<FailException>(() =>
            ProcessRunner.Run("sh", ["-c", "sleep 300 & echo child $!; wait"], options));
        Assert.Contains("sh -c 'sleep 300 & echo child $!; wait'", failure.Message);
        Assert.Contains("did not finish within 00:00:02; killed it and its children", failure.Message);
        var child = System.Text.RegularExpressions.Regex.Match(failure.Message, @"child (\d+)");
        Assert.True(child.Success, failure.Message);
        Assert.True(Ends(int.Parse(child.Groups[1].Value)), "the child survived");
    }

    [Fact]
    public void A_started_process_is_read_line_by_line_and_killed_when_disposed()
    {
        int pid;
        using (var process = ProcessRunner.Start("sh", ["-c", "echo ready; echo more; exec sleep 300"]))
        {
            Assert.Equal("ready", process.ReadLine(TimeSpan.FromSeconds(30)));
            Assert.Equal("more", process.ReadLine(TimeSpan.FromSeconds(30)));
            pid = process.Id;
            Assert.True(Runs(pid));
        }
        Assert.True(Ends(pid), "disposing left the process running");
    }

    /// <summary>Whether the process is gone within a few seconds (SIGKILL takes effect asynchronously).</summary>
    static bool Ends(int pid)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Runs(pid) && clock.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(20);
        return !Runs(pid);
    }

    /// <summary>Alive, and not a zombie waiting for a parent that no longer reaps it.</summary>
    static bool Runs(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
