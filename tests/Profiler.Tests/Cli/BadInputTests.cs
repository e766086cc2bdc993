using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using static Profiler.Tests.Cli.CliHarness;

namespace Profiler.Tests.Cli;

/// <summary>Bad inputs to every command: each ends with one line naming the problem and its own
/// exit code, before anything is launched, attached or written. {dir} and {recording} stand for a
/// scratch folder and a copy of a real recording.</summary>
public sealed class BadInputTests : IDisposable
{
    static readonly string Fixture = Path.Combine(RepoRoot.Path, "tests", "Profiler.Viewer.Tests", "fixtures", "allocs-leak.memprof");
    static readonly DirectoryInfo Dir = Directory.CreateTempSubdirectory("memprof-badinput");

    static BadInputTests()
    {
        File.Copy(Fixture, Path.Combine(Dir.FullName, "r.memprof"));
        File.WriteAllText(Path.Combine(Dir.FullName, "noexec"), "#!/bin/sh\nexit 0\n");
        File.WriteAllBytes(Path.Combine(Dir.FullName, "data"), [0x89, (byte)'P', (byte)'N', (byte)'G', 0, 0, 0, 0]);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(Path.Combine(Dir.FullName, "data"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(Dir.FullName, "twice.budgets"), "max-leaked = 1KiB\nmax-peak = 1MiB\nmax-leaked = 1MiB\n");
        File.WriteAllText(Path.Combine(Dir.FullName, "fractional.budgets"), "max-allocs = 1.5\n");
    }

    public void Dispose() { }

    public static TheoryData<string, int, string> Cases => new()
    {
        { "record --pid abc", 64, "--pid takes a process id (a positive number), not 'abc'" },
        { "record --pid -5", 64, "--pid takes a process id" },
        { "record --pid 0", 64, "--pid takes a process id" },
        { "record --pid 99999999", 68, "no process with pid 99999999" },
        { "record --pid 2", 68, "pid 2 is a kernel thread" },
        { "record --rate 1.5 -- /bin/true", 64, "'1.5' is not a whole number of bytes" },
        { "record --rate 1TB -- /bin/true", 64, "would sample almost nothing" },
        { "record --rate 0 -- /bin/true", 64, "--rate must be at least 1 byte" },
        { "record --rate lots -- /bin/true", 64, "'lots' is not a size" },
        { "record --stack-size 1 -- /bin/true", 64, "--stack-size must be between" },
        { "record --duration 0s -- /bin/true", 64, "is not a duration" },
        { "record -- {dir}", 65, "is a directory, not a command" },
        { "record -- {dir}/noexec", 77, "is not executable" },
        { "record -- {dir}/data", 65, "neither an ELF executable nor a script" },
        { "record -- {dir}/missing", 66, "no such file" },
        { "record -- no-such-command-memprof", 66, "command not found" },
        { "record -- /dev/null", 65, "is not a regular file, not a command" },
        { "record -o {dir} -- /bin/true", 64, "is a directory; name a file to write" },
        { "record -o /nonexistent-folder/x.memprof -- /bin/true", 66, "the folder /nonexistent-folder does not exist" },
        { "record --pid 1 -- /bin/true", 64, "give either --pid or a command, not both" },
        { "report /dev/zero", 65, "is not a regular file" },
        { "report {dir}", 65, "is a directory, not a recording" },
        { "report {dir}/missing.memprof", 66, "no such file" },
        { "report {dir}/noexec", 65, "is not a memprof recording" },
        { "report {recording} --top 0", 64, "" },
        { "export {recording} -o {recording}", 64, "is also an input" },
        { "export {recording} -o {dir}", 64, "is a directory" },
        { "export {recording} -o /dev/full", 74, "cannot write /dev/full: No space left on device" },
        { "export {recording} --format pprof -o /dev/full", 74, "No space left on device" },
        { "check {recording}", 64, "no budget to check" },
        { "check {recording} --max-leaked 1.5", 64, "not a whole number of bytes" },
        { "check {recording} --max-leaked 1KiB --budgets {dir}/twice.budgets", 64, "twice.budgets:3: 'max-leaked' is set twice (first on line 1)" },
        { "check {recording} --budgets {dir}/fractional.budgets", 64, "is not a count of allocations" },
        { "check {recording} --budgets /dev/zero", 65, "is not a regular file" },
        { "check {recording} --budgets {dir}", 65, "is a directory, not a budgets file" },
        { "check {recording} --budgets {dir}/missing", 66, "no such file" },
        { "check {recording} --max-leaked 1 --junit /dev/full", 74, "cannot write /dev/full" },
        { "check {recording} --max-leaked 1 --junit {dir}", 64, "is a directory" },
        { "diff {recording} /dev/zero", 65, "is not a regular file" },
        { "diff {recording} {recording} --threshold much", 64, "is not a threshold" },
        { "diff {recording} {recording} --top 0", 64, "--top must be positive" },
        { "import jemalloc /dev/zero", 65, "is not a regular file" },
        { "import jemalloc {dir}", 65, "is a directory, not a heap profile" },
        { "import jemalloc {recording} -o {recording}", 64, "is also an input" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_bad_input_is_one_line_and_its_own_exit_code(string commandLine, int expectedCode, string expectedMessage)
    {
        var args = commandLine.Replace("{recording}", Path.Combine(Dir.FullName, "r.memprof")).Replace("{dir}", Dir.FullName).Split(' ');
        var before = File.ReadAllBytes(Path.Combine(Dir.FullName, "r.memprof"));
        var (code, _, err) = Run(args);
        Assert.True(code == expectedCode, $"{commandLine}: exit {code}, expected {expectedCode}: {err}");
        // Symbolizing the fixture warns first (its binaries are not on this machine): the error is the last line.
        var last = err.Trim().Split('\n')[^1];
        Assert.StartsWith("memprof: ", last);
        Assert.Contains(expectedMessage, last);
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("System.", err);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(Dir.FullName, "r.memprof")));
        Assert.False(File.Exists(Path.Combine(Dir.FullName, "r.memprof.partial")));
    }

    [Fact]
    public void Diff_of_two_different_programs_warns()
    {
        string other = Path.Combine(Dir.FullName, "other.memprof");
        using (var writer = RecordingWriter.Create(other, new Header { Command = { "/usr/bin/another-program" }, TargetPid = 7, Collector = "linux-ebpf", SamplingRateBytes = 1 }))
            writer.Complete(new Footer());
        var (code, _, err) = Run("diff", Path.Combine(Dir.FullName, "r.memprof"), other);
        Assert.Equal(0, code);
        Assert.Contains("warning: the recordings are of different programs (allocs-fp and another-program)", err);
        var (same, _, sameErr) = Run("diff", Path.Combine(Dir.FullName, "r.memprof"), Path.Combine(Dir.FullName, "r.memprof"));
        Assert.Equal(0, same);
        Assert.DoesNotContain("different programs", sameErr);
    }

    public static int CaseCount => Cases.Count;
}
