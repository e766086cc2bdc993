using System.CommandLine;
using Profiler.Cli.Commands;
using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Export;

/// <summary>`memprof report` on a recording file: options, and counters carried from the file to the header.</summary>
public sealed class ReportCommandTests : IDisposable
{
    const uint Pid = 42;
    readonly string _recording = Path.Combine(Path.GetTempPath(), $"report-{Guid.NewGuid():N}.memprof");

    /// <summary>Unmapped addresses name their frames "0x…": stack 1's site is 0x1100, stack 2's 0x2100.</summary>
    public ReportCommandTests()
    {
        using var writer = RecordingWriter.Create(_recording, new Header
        {
            TargetPid = Pid, Collector = "test", Mode = "test-mode", SamplingRateBytes = 1, Launched = true, Command = { "app", "--run" },
        });
        foreach (var (id, leaf) in new[] { (1UL, 0x1100UL), (2UL, 0x2100UL) })
        {
            var stack = new Stack { Id = id };
            stack.Addresses.Add([leaf, 0x9000UL]);
            writer.WriteStack(stack);
        }
        writer.WriteEvent(new RawEvent(EventKind.Alloc, 1_000, Pid, Pid, 0x10, 100, 100, 1, AllocFunction.Malloc));
        writer.WriteEvent(new RawEvent(EventKind.Alloc, 2_000, Pid, Pid, 0x20, 3000, 3000, 2, AllocFunction.Malloc));
        writer.WriteEvent(new RawEvent(EventKind.Free, 2_500_000, Pid, Pid, 0x20, 0, 0, 2, AllocFunction.FreeFunction));
        writer.WriteHeapCounters(new HeapCounters
        {
            Pid = Pid, TimeNanos = 3_000_000, Allocations = 7, AllocatedBytes = 3500, Frees = 2, FreedBytes = 3100,
            LiveBytesKnown = true, LiveBytes = 400, PeakLiveBytes = 3600, PeakTimeNanos = 2_000,
        });
        writer.Complete(new Footer { EndTimeNanos = 4_000_000, Events = 3 });
    }

    public void Dispose() => File.Delete(_recording);

    static (int Code, string Out) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var root = new RootCommand { ReportCommand.Build(stdout, TextWriter.Null) };
        int code = root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = stdout });
        return (code, stdout.ToString());
    }

    [Fact]
    public void The_report_ranks_by_the_order_asked_for_and_shows_the_recorded_counters()
    {
        var (code, output) = Run("report", _recording, "--by", "allocated", "--pid", "42");
        Assert.Equal(0, code);
        Assert.Contains("Counters:   3,500 B in 7 calls; freed 3,100 B usable in 2 calls; exact", output);
        Assert.Contains("Peak heap:  3,600 B at 0.0 ms (exact, allocator counters)", output);
        var sites = output.Split('\n').Where(l => l.StartsWith("      0x", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
        Assert.Equal(["0x2100", "0x1100"], sites);

        (code, output) = Run("report", _recording);
        Assert.Equal(["0x1100"], output.Split('\n').Where(l => l.StartsWith("      0x", StringComparison.Ordinal)).Select(l => l.Trim()));
    }

    [Fact]
    public void The_short_lived_threshold_is_an_option()
    {
        // The 3,000 B block lives 2.498 ms: short-lived under 3 ms, not under the default 1 ms.
        Assert.Contains(" 100%         -", Run("report", _recording, "--by", "allocated", "--short-lived", "3ms").Out);
        Assert.Contains("short: share freed within 3 ms", Run("report", _recording, "--short-lived", "3ms").Out);
        Assert.DoesNotContain("100%", Run("report", _recording, "--by", "allocated").Out);
    }

    [Theory]
    [InlineData(ExitCode.UsageError, "is not a site order", "--by", "biggest")]
    [InlineData(ExitCode.UsageError, "--top must be positive", "--top", "0")]
    [InlineData(ExitCode.UsageError, "'deepest' is not a site choice (use program or innermost)", "--sites", "deepest")]
    [InlineData(ExitCode.TargetNotFound, "no process 7 in the recording", "--pid", "7")]
    public void Bad_options_are_one_line_errors(ExitCode code, string message, params string[] options)
    {
        var error = Assert.Throws<ProfilerException>(() => Run(["report", _recording, .. options]));
        Assert.Equal(code, error.ExitCode);
        Assert.Contains(message, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Sites_can_be_the_innermost_frame()
    {
        var (code, output) = Run("report", _recording, "--sites", "innermost", "--by", "allocated");
        Assert.Equal(0, code);
        Assert.Equal(["0x2100", "0x1100"], output.Split('\n').Where(l => l.StartsWith("      0x", StringComparison.Ordinal)).Select(l => l.Trim()));
    }
}
