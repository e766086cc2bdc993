using System.Diagnostics;

namespace Profiler.Integration.Tests;

/// <summary>
/// The terminal UI in a real terminal: memprof runs inside tmux, keys are sent with send-keys and
/// the screen is read with capture-pane. tmux is installed by scripts/install-deps.sh; without it
/// these tests fail.
/// </summary>
public sealed class TuiTests
{

    [Fact]
    public void View_shows_the_leak_and_its_chain_in_a_terminal()
    {
        RootRequired.Check();
        string dir = Directory.CreateTempSubdirectory("memprof-tui").FullName;
        string recording = Path.Combine(dir, "leak.memprof");
        var record = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", recording, "--", RepoPaths.Sample("allocs-fp"), "leak");
        Assert.True(record.ExitCode == 0, record.Stderr);

        using var tmux = new Tmux(80, 24, $"{CliRunner.CommandLine} view {recording}");
        string screen = tmux.WaitFor(s => s.Contains("allocs::leak_leaf"), "the Top sites view");
        var lines = screen.Split('\n');
        Assert.StartsWith("allocs::leak_leaf", lines[4]);
        Assert.Contains("40.0 KiB", lines[4]);

        tmux.Send("2");
        tmux.Send("e");
        screen = tmux.WaitFor(s => s.Contains("allocs::leak_middle") && s.Contains("allocs::leak_outer"), "the expanded call tree");
        Assert.True(screen.IndexOf("allocs::leak_outer", StringComparison.Ordinal) < screen.IndexOf("allocs::leak_middle", StringComparison.Ordinal));

        tmux.Send("q");
        tmux.WaitFor(s => s.Contains("EXITED 0"), "memprof to exit with 0 and give the terminal back");
    }

    [Fact]
    public void Record_tui_updates_while_the_target_runs()
    {
        RootRequired.Check();
        string dir = Directory.CreateTempSubdirectory("memprof-tui").FullName;
        string recording = Path.Combine(dir, "serve.memprof");
        using var tmux = new Tmux(100, 30,
            $"{CliRunner.CommandLine} record --tui --rate 1 --no-firefox -o {recording} -- {RepoPaths.Sample("allocs-fp")} serve");
        string first = tmux.WaitFor(s => s.StartsWith("LIVE", StringComparison.Ordinal), "the live screen");
        // The status line's elapsed time and heap move on while the target keeps allocating.
        string later = tmux.WaitFor(s => s.StartsWith("LIVE", StringComparison.Ordinal) && s.Split('\n')[1] != first.Split('\n')[1],
            "a live update of the status line");
        Assert.NotEqual(first.Split('\n')[1], later.Split('\n')[1]);

        tmux.Send("X");
        tmux.WaitFor(s => s.StartsWith("stopped", StringComparison.Ordinal), "the recording to stop");
        tmux.Send("q");
        string end = tmux.WaitFor(s => s.Contains("EXITED"), "memprof to exit");
        Assert.Contains("recorded", end);
        Assert.True(new FileInfo(recording).Length > 0);
        // The target's own output went to a file, not over the UI.
        Assert.DoesNotContain("ready ", first + later + end);
        Assert.StartsWith("ready ", File.ReadAllText(Path.Combine(dir, "serve.out")));
        Assert.Contains("the command's output → " + Path.Combine(dir, "serve.out"), end.Replace("\n", ""));
    }

    /// <summary>A detached tmux session running one command, then printing its exit code.</summary>
    internal sealed class Tmux : IDisposable
    {
        readonly string _name = $"memprof-{Guid.NewGuid():N}";

        public Tmux(int width, int height, string command)
        {
            Run("new-session", "-d", "-s", _name, "-x", width.ToString(), "-y", height.ToString(), $"{command}; echo EXITED $?; sleep 600");
        }

        public void Send(string keys) => Run("send-keys", "-t", _name, keys);

        public string Capture() => Run("capture-pane", "-p", "-t", _name);

        public string WaitFor(Func<string, bool> condition, string what, int seconds = 30)
        {
            var watch = Stopwatch.StartNew();
            string screen = "";
            while (watch.Elapsed < TimeSpan.FromSeconds(seconds))
            {
                screen = Capture();
                if (condition(screen)) return screen;
                Thread.Sleep(200);
            }
            Assert.Fail($"timed out waiting for {what}; the screen:\n{screen}");
            return screen;
        }

        static string Run(params string[] args) => ProcessRunner.RunChecked("tmux", args).Stdout;

        // Not checked: the session may be gone already.
        public void Dispose() => ProcessRunner.Run("tmux", ["kill-session", "-t", _name]);
    }
}
