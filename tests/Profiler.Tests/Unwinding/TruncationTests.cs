using Profiler.Core.Model;
using Profiler.Symbols.Unwinding;
using Profiler.Tests.Elf;

namespace Profiler.Tests.Unwinding;

/// <summary>Stacks that cannot be recovered in full must come out as a correct prefix of gdb's
/// backtrace, marked truncated with the reason — never with invented frames.</summary>
public sealed class TruncationTests
{
    [Fact]
    public void A_short_stack_copy_gives_a_prefix_of_gdbs_backtrace()
    {
        SystemTools.Require(["gdb"]);
        var capture = RustSampleUnwindTests.Capture("malloc+0 from leak_leaf");
        var expected = capture.PhysicalFrames.Select(f => f.Pc).ToArray();
        var unwinder = new StackUnwinder(new UnwindTableCache());
        int previous = 0;
        for (int bytes = 0; bytes < capture.Stack.Length; bytes += 8)
        {
            var outcome = UnwindCheck.Unwind(capture, withCalleeSaved: false, unwinder, stackBytes: bytes);
            Assert.True(expected.Take(outcome.Pcs.Length).SequenceEqual(outcome.Pcs),
                $"with {bytes} bytes of stack:\n{UnwindCheck.Describe(capture, outcome)}");
            // The outermost frame's return address is undefined: nothing above its CFA is read.
            Assert.Equal(outcome.Pcs.Length == expected.Length ? UnwindEnd.Complete : UnwindEnd.StackExhausted,
                outcome.Result.End);
            Assert.True(outcome.Pcs.Length >= previous, $"fewer frames with {bytes} bytes than with {bytes - 8}");
            previous = outcome.Pcs.Length;
        }
        Assert.Equal(expected.Length, previous);
    }

    [Fact]
    public void A_full_output_span_ends_with_frame_limit()
    {
        SystemTools.Require(["gdb"]);
        var capture = RustSampleUnwindTests.Capture("malloc+0 from leak_leaf");
        var pcs = new ulong[3];
        var result = new StackUnwinder(new UnwindTableCache()).Unwind(capture.SampledRegisters(false), capture.Stack,
            capture.StackAddress, new SortedModuleLookup(capture.ExecutableModules()), pcs);
        Assert.Equal(new UnwindResult(3, UnwindEnd.FrameLimit, 0, 0), result);
        Assert.Equal(capture.PhysicalFrames.Take(3).Select(f => f.Pc), pcs);
    }

    [Fact]
    public void A_return_address_outside_every_module_ends_the_stack_before_it()
    {
        SystemTools.Require(["gdb"]);
        var capture = RustSampleUnwindTests.Capture("malloc+0 from leak_leaf");
        // Without the executable's mapping, malloc's return address into it is not code we know.
        var libcOnly = capture.ExecutableModules().Where(m => m.Path.Contains("libc.so")).ToList();
        var pcs = new ulong[64];
        var result = new StackUnwinder(new UnwindTableCache()).Unwind(capture.SampledRegisters(false), capture.Stack,
            capture.StackAddress, new SortedModuleLookup(libcOnly), pcs);
        Assert.Equal(UnwindEnd.OutsideModules, result.End);
        Assert.Equal([capture.PhysicalFrames[0].Pc], pcs[..result.FrameCount]);
    }

    [Fact]
    public void A_changed_file_is_not_trusted()
    {
        SystemTools.Require(["gdb"]);
        var capture = RustSampleUnwindTests.Capture("malloc+0 from leak_leaf");
        var modules = capture.ExecutableModules()
            .Select(m => m.Path.Contains("libc.so") ? m with { BuildId = "00112233" } : m).ToList();
        var cache = new UnwindTableCache();
        var outcome = new StackUnwinder(cache).Unwind(capture.SampledRegisters(false), capture.Stack,
            capture.StackAddress, new SortedModuleLookup(modules), new ulong[64]);
        Assert.Contains(cache.Warnings, w => w.Contains("libc.so") && w.Contains("expected 00112233"));
        Assert.False(outcome.IsComplete);
    }

    [Fact]
    public void Unknown_leaf_address_is_reported_as_outside_modules()
    {
        var pcs = new ulong[8];
        var result = new StackUnwinder(new UnwindTableCache()).Unwind(new UnwindRegisters(0x1234, 0x7ffe0000, 0),
            new byte[64], 0x7ffe0000, new SortedModuleLookup(Array.Empty<MappedModule>()), pcs);
        Assert.Equal(new UnwindResult(1, UnwindEnd.OutsideModules, 0, 0), result);
        Assert.Equal(0x1234UL, pcs[0]);
    }
}
