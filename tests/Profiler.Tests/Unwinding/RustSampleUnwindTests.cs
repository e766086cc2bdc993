using Profiler.Symbols.Unwinding;
using Profiler.Tests.Elf;

namespace Profiler.Tests.Unwinding;

/// <summary>
/// The Rust sample built without frame pointers (samples/bin/allocs-nofp), stopped by gdb inside
/// glibc's allocator: the unwinder, given only what a BPF sample holds, must produce exactly gdb's
/// backtrace — through Rust frames, glibc, and down to _start or the thread's clone3.
/// </summary>
public sealed class RustSampleUnwindTests
{
    private static string Sample => Path.Combine(RepoRoot.Path, "samples", "bin", "allocs-nofp");

    public static TheoryData<string, bool> Cases() => new()
    {
        { "malloc+0 from leak_leaf", false },
        { "malloc+0 from leak_leaf", true },
        { "malloc after its first push", false },
        { "free+0 from churn", false },
        { "free+0 from churn", true },
        { "leak_leaf after its push", false },
        { "malloc+0 on the worker thread", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_gdb(string point, bool withCalleeSaved)
    {
        SystemTools.Require(["gdb"]);
        var capture = Capture(point);
        if (point.Contains("push"))
            Assert.All(capture.SkippedInstructions, instruction => Assert.StartsWith("push", instruction));
        var outcome = UnwindCheck.Unwind(capture, withCalleeSaved);
        UnwindCheck.MatchesGdb(capture, outcome);
        Assert.All(outcome.Sources.Skip(1), source => Assert.Equal(FrameSource.CallFrameInfo, source));
    }

    internal static CapturedStack Capture(string point) => point switch
    {
        "malloc+0 from leak_leaf" => GdbStackCapture.Shared(Sample, [new("allocs::leak_leaf"), new("*malloc")]),
        "malloc after its first push" => GdbStackCapture.Shared(Sample,
            [new("allocs::leak_leaf"), new("*malloc", SkipInstructions: 1)]),
        "free+0 from churn" => GdbStackCapture.Shared(Sample, [new("allocs::churn"), new("*free")]),
        "leak_leaf after its push" => GdbStackCapture.Shared(Sample, [new("*allocs::leak_leaf", SkipInstructions: 1)]),
        "malloc+0 on the worker thread" => GdbStackCapture.Shared(Sample, [new("allocs::thread_worker"), new("*malloc")]),
        _ => throw new ArgumentException(point),
    };
}
