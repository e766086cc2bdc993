using Profiler.Symbols.Unwinding;
using Profiler.Tests.Elf;

namespace Profiler.Tests.Unwinding;

/// <summary>gcc-compiled C stacks against gdb's backtraces: glibc's qsort in the middle, a signal
/// frame in the middle, PLT stubs, CFI from .debug_frame, and frames with no CFI at all.</summary>
[Collection(CProgramCollection.Name)]
public sealed class CProgramUnwindTests(CProgram program)
{
    private static readonly string[] HandleSignal = ["handle SIGUSR1 nostop noprint pass"];

    public static TheoryData<string, string> Cases() => new()
    {
        { "eh-frame", "qsort callback" },
        { "eh-frame", "signal handler" },
        { "eh-frame", "PLT entry" },
        { "eh-frame", "PLT entry after its push" },
        { "debug-frame", "qsort callback" },
        { "debug-frame", "signal handler" },
        { "frame-pointers", "qsort callback" },
        { "frame-pointers", "signal handler" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_gdb(string variant, string point)
    {
        SystemTools.Require(["gdb", "gcc"]);
        var capture = Capture(program.Variant(variant), point);
        if (point.Contains("push"))
            Assert.Equal(["jmp", "push"], capture.SkippedInstructions.Select(i => i.Split(' ')[0]));
        foreach (bool withCalleeSaved in new[] { false, true })
        {
            var outcome = UnwindCheck.Unwind(capture, withCalleeSaved);
            UnwindCheck.MatchesGdb(capture, outcome);
            var expectedSource = variant == "frame-pointers" ? FrameSource.FramePointer : FrameSource.CallFrameInfo;
            Assert.Contains(expectedSource, outcome.Sources);
            Assert.Equal(outcome.Sources.Count(s => s == FrameSource.FramePointer), outcome.Result.FramePointerFrames);
        }
    }

    [Fact]
    public void Signal_frame_unwinds_to_the_interrupted_instruction()
    {
        SystemTools.Require(["gdb", "gcc"]);
        var capture = Capture(program.Variant("eh-frame"), "signal handler");
        var outcome = UnwindCheck.Unwind(capture, withCalleeSaved: false);
        UnwindCheck.MatchesGdb(capture, outcome);
        // gdb marks __restore_rt as a signal trampoline frame (type 4); the frame after it is the one
        // the signal interrupted, and its pc is not a return address.
        int trampoline = capture.PhysicalFrames.ToList().FindIndex(f => f.Type == 4);
        Assert.True(trampoline > 0, UnwindCheck.Describe(capture, outcome));
        Assert.Equal("__restore_rt", capture.PhysicalFrames[trampoline].Name);
    }

    [Fact]
    public void Plt_stub_without_cfi_at_its_entry_matches_gdb()
    {
        SystemTools.Require(["gdb", "gcc"]);
        var capture = Capture(program.Variant("no-plt-cfi"), "PLT entry");
        var outcome = UnwindCheck.Unwind(capture, withCalleeSaved: false);
        UnwindCheck.MatchesGdb(capture, outcome);
        Assert.Equal(FrameSource.PltStub, outcome.Sources[1]);
    }

    /// <summary>After the lazy entry's push, gdb's own heuristics (no CFI) go wrong. The oracle is gdb's
    /// backtrace of the same program linked with the PLT's CFI, stopped at the same instruction: the two
    /// differ only in .eh_frame, which lies after the code. Frames are compared as file offsets, so the
    /// two runs need not be loaded at the same addresses.</summary>
    [Fact]
    public void Plt_stub_without_cfi_after_its_push_matches_gdb_on_the_same_code_with_cfi()
    {
        SystemTools.Require(["gdb", "gcc"]);
        string withCfi = program.Variant("eh-frame"), withoutCfi = program.Variant("no-plt-cfi");
        Assert.Equal(CodeLayout(withCfi), CodeLayout(withoutCfi));
        var oracle = Capture(withCfi, "PLT entry after its push");
        var capture = Capture(withoutCfi, "PLT entry after its push");
        var outcome = UnwindCheck.Unwind(capture, withCalleeSaved: false);
        var expected = FileOffsets(oracle, oracle.PhysicalFrames.Select(f => f.Pc), withCfi);
        var actual = FileOffsets(capture, outcome.Pcs, withoutCfi);
        Assert.True(expected.SequenceEqual(actual), $"expected\n{string.Join('\n', expected)}\nunwound\n{string.Join('\n', actual)}");
        Assert.True(oracle.Outermost && outcome.Result.IsComplete, $"{oracle.StopReason}, {outcome.Result}");
        Assert.Equal(FrameSource.PltStub, outcome.Sources[1]);
    }

    /// <summary>Each pc as "file+offset", the program itself named "program".</summary>
    private static string[] FileOffsets(CapturedStack capture, IEnumerable<ulong> pcs, string programPath)
    {
        var modules = capture.ExecutableModules();
        return [.. pcs.Select(pc => modules.FirstOrDefault(m => pc >= m.Start && pc < m.End) is { } m
            ? $"{(m.Path == programPath ? "program" : m.Path)}+0x{pc - m.Start + m.FileOffset:x}"
            : $"0x{pc:x} (unmapped)")];
    }

    private static string CodeLayout(string path)
    {
        using var elf = Symbols.Elf.ElfFile.Open(path);
        return string.Join(", ", elf.Sections.Where(s => (s.Flags & Symbols.Elf.ElfSectionFlags.ExecInstr) != 0)
            .Select(s => $"{s.Name}@{s.Address:x}+{s.Size:x}"));
    }

    internal static CapturedStack Capture(string executable, string point) => point switch
    {
        "qsort callback" => GdbStackCapture.Shared(executable, [new("compare"), new("*malloc")]),
        "signal handler" => GdbStackCapture.Shared(executable, [new("on_signal"), new("*malloc")], HandleSignal),
        "PLT entry" => GdbStackCapture.Shared(executable, [new("*'malloc@plt'")]),
        // +0 jmp *GOT, +6 push index, +11 jmp PLT0: stop on the last, after the push.
        "PLT entry after its push" => GdbStackCapture.Shared(executable, [new("*'malloc@plt'", SkipInstructions: 2)]),
        _ => throw new ArgumentException(point),
    };
}
