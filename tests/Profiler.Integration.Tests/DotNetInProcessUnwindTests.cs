using System.Globalization;
using System.Text.RegularExpressions;

namespace Profiler.Integration.Tests;

/// <summary>
/// A launched .NET program's stacks go through JIT-compiled and ReadyToRun code, which has no CFI:
/// the preload library steps through it by the frame chain, so its events are unwound in the
/// process and carry no stack copy. Those stacks are the ones memprof unwinds from copies of the
/// same program's stack (--unwind dwarf-copy), and the events, no longer 64 KiB each, all arrive.
/// </summary>
public sealed partial class DotNetInProcessUnwindTests
{
    const string Sample = "dotnet/DotnetSample";

    [Fact]
    public void Stacks_through_managed_code_unwound_in_process_are_those_unwound_from_stack_copies()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(Sample);
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-dotnet-inprocess");
        try
        {
            // Without tiered compilation each method is compiled once, fully optimised: which C#
            // frames a stack has (inlining) does not depend on when a recompilation happened.
            var (inProcess, said) = Record(dir.FullName, sample, "dwarf");
            var (copied, saidCopied) = Record(dir.FullName, sample, "dwarf-copy");
            Assert.DoesNotMatch(InProcessCounts(), saidCopied);
            AssertUnwoundInProcess(said);

            // The Rust sites' events: the same program path every run (the runtime's own
            // allocations come from background threads and depend on timing).
            var expected = RustSiteStacks(copied);
            var actual = RustSiteStacks(inProcess);
            long siteEvents = manifest.Sum(s => s.Allocations + s.Frees);
            Assert.True(expected.Values.Sum() == siteEvents, $"{expected.Values.Sum()} Rust site events from copies, the manifest says {siteEvents}");
            // Not vacuous: every one goes through the C# callers the manifest names.
            foreach (var site in manifest)
            {
                string path = string.Join(" ← ", site.Chain.Reverse());
                var through = expected.Where(e => e.Key.Contains(path, StringComparison.Ordinal)).Sum(e => e.Value);
                Assert.True(through == site.Allocations + site.Frees, $"{through} events of {site.Function} through {path}:\n" +
                    string.Join("\n", expected.Keys.Where(k => k.Contains(site.Function, StringComparison.Ordinal)).Take(5)));
            }
            InProcessUnwindTests.AssertSameStacks(expected, actual);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The sample's timed loop (a C# call into Rust, one malloc and one free a call),
    /// launched at the default rate and at --rate 1: no event lost, the stacks unwound in process.</summary>
    [Theory]
    [InlineData(null, 2_000_000)]
    [InlineData("1", 200_000)]
    public void Launched_no_event_of_the_loop_is_lost(string? rate, int calls)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(Sample);
        var dir = Directory.CreateTempSubdirectory("memprof-dotnet-lossless");
        try
        {
            var output = Path.Combine(dir.FullName, "bench.memprof");
            string[] rateWords = rate is null ? [] : ["--rate", rate];
            var result = CliRunner.Run(["record", .. rateWords, "--no-firefox", "-o", output, "--", sample, "bench", calls.ToString(CultureInfo.InvariantCulture)]);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.DoesNotContain("LOST", result.Stderr);
            AssertUnwoundInProcess(result.Stderr);
            var events = RecordedEvents().Match(result.Stderr);
            Assert.True(events.Success, result.Stderr);
            // At --rate 1 every malloc and free of the loop is an event.
            if (rate == "1") Assert.True(Number(events.Groups[1].Value) >= 2L * calls, result.Stderr);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    static (string Output, string Said) Record(string dir, string sample, string unwind)
    {
        var output = Path.Combine(dir, $"{unwind}.memprof");
        var words = CliRunner.OwnProcessWords("record", "--rate", "1", "--unwind", unwind, "--no-firefox", "-o", output, "--", sample);
        using var memprof = ProcessRunner.Start(words[0], words[1..], new ProcessOptions().WithEnvironment("DOTNET_TieredCompilation", "0"));
        var result = memprof.WaitForExit(TimeSpan.FromMinutes(3));
        result.EnsureSuccess();
        Assert.Contains("events through shared rings", result.Stderr);
        return (output, result.Stderr);
    }

    /// <summary>Nearly every stack was unwound in the process: the few copied are events whose
    /// stack no walk gets through (a signal handler's over an interrupted prologue).</summary>
    static void AssertUnwoundInProcess(string said)
    {
        var counts = InProcessCounts().Match(said);
        Assert.True(counts.Success, said);
        long unwound = Number(counts.Groups[1].Value), copied = Number(counts.Groups[2].Value);
        Assert.True(unwound >= 10_000, said);
        Assert.True(copied * 1000 <= unwound, $"{copied:N0} stacks copied, {unwound:N0} unwound in process: {said}");
    }

    static Dictionary<string, int> RustSiteStacks(string recording) =>
        InProcessUnwindTests.StacksByEvent(recording)
            .Where(e => e.Key.Contains("rustlib_", StringComparison.Ordinal))
            .ToDictionary(e => e.Key, e => e.Value);

    static long Number(string digits) => long.Parse(digits, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"([\d,]+) stacks unwound in process, ([\d,]+) copied")]
    private static partial Regex InProcessCounts();

    [GeneratedRegex(@"recorded ([\d,]+) events")]
    private static partial Regex RecordedEvents();
}
