using Profiler.Symbols.Unwinding;

namespace Profiler.Tests.Unwinding;

/// <summary>Unwinds a captured stack with memprof's unwinder and compares with gdb's backtrace.</summary>
public static class UnwindCheck
{
    public sealed record Outcome(ulong[] Pcs, FrameSource[] Sources, UnwindResult Result);

    public static Outcome Unwind(CapturedStack capture, bool withCalleeSaved, StackUnwinder? unwinder = null,
        int stackBytes = int.MaxValue, ReturnProbes returnProbes = default, byte[]? stack = null)
    {
        unwinder ??= new StackUnwinder(new UnwindTableCache());
        var pcs = new ulong[256];
        var sources = new FrameSource[256];
        var bytes = (stack ?? capture.Stack).AsSpan(0, Math.Min(stackBytes, capture.Stack.Length));
        var result = unwinder.Unwind(capture.SampledRegisters(withCalleeSaved), bytes, capture.StackAddress,
            new SortedModuleLookup(capture.ExecutableModules()), pcs, sources, returnProbes);
        return new Outcome(pcs[..result.FrameCount], sources[..result.FrameCount], result);
    }

    /// <summary>Requires exactly gdb's pcs, and completeness exactly when gdb reached the outermost frame.</summary>
    public static void MatchesGdb(CapturedStack capture, Outcome outcome)
    {
        var expected = capture.PhysicalFrames;
        string report = Describe(capture, outcome);
        Assert.True(expected.Select(f => f.Pc).SequenceEqual(outcome.Pcs), "unwound pcs differ from gdb's:\n" + report);
        Assert.True(capture.Outermost, $"gdb itself did not reach the outermost frame ({capture.StopReason}):\n{report}");
        Assert.True(outcome.Result.IsComplete, $"gdb reached the outermost frame but the unwind ended with {outcome.Result.End}:\n{report}");
    }

    public static string Describe(CapturedStack capture, Outcome outcome)
    {
        var expected = capture.PhysicalFrames;
        var lines = new List<string> { $"  {"gdb",-20} {"memprof",-20} ({outcome.Result})" };
        for (int i = 0; i < Math.Max(expected.Count, outcome.Pcs.Length); i++)
        {
            string gdb = i < expected.Count ? $"0x{expected[i].Pc:x}" : "";
            string ours = i < outcome.Pcs.Length ? $"0x{outcome.Pcs[i]:x} {outcome.Sources[i]}" : "";
            string name = i < expected.Count ? expected[i].Name : "";
            lines.Add($"{(gdb == ours.Split(' ')[0] ? ' ' : '*')} {gdb,-20} {ours,-34} {name}");
        }
        return string.Join('\n', lines);
    }
}
