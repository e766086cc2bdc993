using System.Buffers.Binary;
using Profiler.Symbols.Unwinding;
using Profiler.Tests.Elf;

namespace Profiler.Tests.Unwinding;

/// <summary>
/// A pending uretprobe replaces a return address on the stack with the address of the kernel's
/// `[uprobes]` trampoline. These tests make that replacement in a stack captured under gdb, in the
/// slot where gdb itself found the return address, and check that the unwinder restores gdb's
/// backtrace when told the original, and stops cleanly after the last good frame when not.
/// </summary>
public sealed class ReturnProbeTests
{
    /// <summary>A page no module of the sample is mapped at, standing in for `[uprobes]`.</summary>
    private const ulong Trampoline = 0x7000;

    [Theory]
    [InlineData(0)] // the allocator's own return address, as a return probe on malloc would hijack it
    [InlineData(2)] // a return address deeper in the stack
    public void Known_original_is_substituted(int frame)
    {
        var (capture, stack, slot) = HijackedStack(frame);
        ReadOnlySpan<ReturnAddressSubstitution> substitutions =
            [new(slot - 64, 0x1234), new(slot, capture.PhysicalFrames[frame + 1].Pc)];
        var outcome = UnwindCheck.Unwind(capture, withCalleeSaved: false, stack: stack,
            returnProbes: new ReturnProbes(Trampoline, Trampoline + 0x1000, substitutions));
        UnwindCheck.MatchesGdb(capture, outcome);
        Assert.Equal(1, outcome.Result.SubstitutedReturnAddresses);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Unknown_original_ends_the_stack_at_the_hijacked_frame(int frame)
    {
        var (capture, stack, slot) = HijackedStack(frame);
        ReadOnlySpan<ReturnAddressSubstitution> otherSlotOnly = [new(slot + 8, capture.PhysicalFrames[frame + 1].Pc)];
        var outcome = UnwindCheck.Unwind(capture, withCalleeSaved: false, stack: stack,
            returnProbes: new ReturnProbes(Trampoline, Trampoline + 0x1000, otherSlotOnly));
        Assert.Equal(UnwindEnd.PendingReturnProbe, outcome.Result.End);
        Assert.Equal(capture.PhysicalFrames.Take(frame + 1).Select(f => f.Pc), outcome.Pcs);
    }

    [Fact]
    public void Without_the_trampoline_range_the_hijacked_address_is_not_a_frame()
    {
        var (capture, stack, _) = HijackedStack(2);
        var outcome = UnwindCheck.Unwind(capture, withCalleeSaved: false, stack: stack);
        Assert.Equal(UnwindEnd.OutsideModules, outcome.Result.End);
        Assert.Equal(capture.PhysicalFrames.Take(3).Select(f => f.Pc), outcome.Pcs);
    }

    private static (CapturedStack Capture, byte[] Stack, ulong Slot) HijackedStack(int frame)
    {
        SystemTools.Require(["gdb"]);
        var capture = RustSampleUnwindTests.Capture("malloc+0 from leak_leaf");
        ulong slot = capture.PhysicalFrames[frame].ReturnSlot
            ?? throw new InvalidOperationException($"gdb reported no return address slot for frame {frame}");
        var stack = capture.Stack.ToArray();
        var word = stack.AsSpan((int)(slot - capture.StackAddress), 8);
        Assert.Equal(capture.PhysicalFrames[frame + 1].Pc, BinaryPrimitives.ReadUInt64LittleEndian(word));
        BinaryPrimitives.WriteUInt64LittleEndian(word, Trampoline + 0x10);
        return (capture, stack, slot);
    }
}
