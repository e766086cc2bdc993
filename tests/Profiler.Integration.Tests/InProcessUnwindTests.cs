using System.Globalization;
using System.Text.RegularExpressions;
using Profiler.Core.Model;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>Exact mode's DWARF stacks, unwound by the launched process itself, are the stacks
/// memprof unwinds from copies of the same process's stack (--unwind dwarf-copy): the same
/// functions in the same order, cut (or not) at the same frame, for every event.</summary>
public sealed partial class InProcessUnwindTests
{
    [Theory]
    [InlineData("idioms-nofp")]
    [InlineData("allocs-nofp")]
    public void Stacks_unwound_in_process_are_those_unwound_from_stack_copies(string variant)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(variant);
        var dir = Directory.CreateTempSubdirectory("memprof-inprocess-unwind");
        try
        {
            var (inProcess, said) = Record(dir.FullName, sample, "dwarf");
            var (copied, saidCopied) = Record(dir.FullName, sample, "dwarf-copy");
            // Every stack of these programs has CFI down to its outermost frame: none needs a copy.
            var counts = InProcessCounts().Match(said);
            Assert.True(counts.Success, said);
            Assert.True(Number(counts.Groups[1].Value) >= 10_000, said);
            Assert.Equal(0, Number(counts.Groups[2].Value));
            Assert.DoesNotMatch(InProcessCounts(), saidCopied);

            var expected = StacksByEvent(copied);
            var actual = StacksByEvent(inProcess);
            Assert.True(expected.Values.Sum() >= 10_000, $"{expected.Values.Sum()} events");
            // The comparison is not vacuous: most stacks reach the program's entry.
            Assert.True(expected.Where(e => e.Key.EndsWith(" ← _start", StringComparison.Ordinal)).Sum(e => e.Value) > expected.Values.Sum() / 2,
                "most stacks should be complete");
            AssertSameStacks(expected, actual);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    static (string Output, string Said) Record(string dir, string sample, string unwind)
    {
        var output = Path.Combine(dir, $"{unwind}.memprof");
        var result = CliRunner.Run("record", "--rate", "1", "--unwind", unwind, "--no-firefox", "-o", output, "--", sample);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("events through shared rings", result.Stderr);
        return (output, result.Stderr);
    }

    /// <summary>Every stack had as many events unwound in process as from stack copies.</summary>
    internal static void AssertSameStacks(Dictionary<string, int> expected, Dictionary<string, int> actual)
    {
        var differences = expected.Keys.Union(actual.Keys)
            .Where(k => expected.GetValueOrDefault(k) != actual.GetValueOrDefault(k))
            .Select(k => $"{expected.GetValueOrDefault(k)} from copies, {actual.GetValueOrDefault(k)} in process: {k}")
            .ToList();
        Assert.True(differences.Count == 0, $"{differences.Count} stacks differ:\n" + string.Join("\n", differences.Take(10)));
    }

    /// <summary>How many events of each kind and size had each stack (its functions, leaf first).</summary>
    internal static Dictionary<string, int> StacksByEvent(string recording)
    {
        var model = RecordingLoader.Load(recording, TextWriter.Null);
        var events = model.Events;
        var byStack = new Dictionary<StackId, string>();
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < events.Count; i++)
        {
            var stack = events.Stack[i];
            if (!byStack.TryGetValue(stack, out var names))
                byStack[stack] = names = string.Join(" ← ", model.Tables.FramesLeafFirst(stack).Select(f => model.Tables.FunctionName(f)));
            string key = $"{events.Kind[i]} {events.Size[i]}: {names}";
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        return counts;
    }

    static long Number(string digits) => long.Parse(digits, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"([\d,]+) stacks unwound in process, ([\d,]+) copied")]
    private static partial Regex InProcessCounts();
}
