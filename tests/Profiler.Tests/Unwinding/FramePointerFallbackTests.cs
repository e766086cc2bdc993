using System.Buffers.Binary;
using Profiler.Core.Model;
using Profiler.Symbols.Unwinding;

namespace Profiler.Tests.Unwinding;

/// <summary>
/// Modules without readable CFI fall back to the frame-pointer rule: CFA = rbp + 16, the return
/// address at CFA - 8, the caller's rbp at CFA - 16. Checked on hand-built frame chains (the module's
/// file does not exist, so it has no CFI at all), where the right answer is known by construction.
/// </summary>
public sealed class FramePointerFallbackTests
{
    private const ulong StackAddress = 0x7ffd_1000_0000;
    private const ulong CodeStart = 0x5555_0000_0000;
    private static readonly MappedModule Code = new("/nonexistent/unwind-test-module", "", CodeStart, CodeStart + 0x10000, 0);

    /// <summary>A stack whose frames are at the given offsets from rsp: each holds the saved rbp of the
    /// next (0 for the last) and a return address.</summary>
    private static byte[] Chain(int[] frameOffsets, ulong[] returnAddresses, int size = 512)
    {
        var stack = new byte[size];
        for (int i = 0; i < frameOffsets.Length; i++)
        {
            ulong savedRbp = i + 1 < frameOffsets.Length ? StackAddress + (ulong)frameOffsets[i + 1] : 0;
            BinaryPrimitives.WriteUInt64LittleEndian(stack.AsSpan(frameOffsets[i]), savedRbp);
            BinaryPrimitives.WriteUInt64LittleEndian(stack.AsSpan(frameOffsets[i] + 8), returnAddresses[i]);
        }
        return stack;
    }

    private static (ulong[] Pcs, FrameSource[] Sources, UnwindResult Result) Unwind(byte[] stack, ulong rbp, params MappedModule[] modules)
    {
        var cache = new UnwindTableCache();
        var pcs = new ulong[16];
        var sources = new FrameSource[16];
        var result = new StackUnwinder(cache).Unwind(new UnwindRegisters(CodeStart + 0x100, StackAddress, rbp), stack,
            StackAddress, new SortedModuleLookup(modules.Length > 0 ? modules : [Code]), pcs, sources);
        Assert.Contains(cache.Warnings, w => w.Contains("unwind-test-module"));
        return (pcs[..result.FrameCount], sources[..result.FrameCount], result);
    }

    [Fact]
    public void Walks_the_chain_to_the_zero_frame_pointer()
    {
        ulong[] returns = [CodeStart + 0x200, CodeStart + 0x300, CodeStart + 0x400];
        var (pcs, sources, result) = Unwind(Chain([16, 64, 160], returns), StackAddress + 16);
        Assert.Equal([CodeStart + 0x100, .. returns], pcs);
        Assert.Equal([FrameSource.Registers, FrameSource.FramePointer, FrameSource.FramePointer, FrameSource.FramePointer], sources);
        Assert.Equal(new UnwindResult(4, UnwindEnd.Complete, 3, 0), result);
    }

    [Fact]
    public void Stops_before_a_return_address_outside_every_module()
    {
        var (pcs, _, result) = Unwind(Chain([16, 64, 160], [CodeStart + 0x200, 0xdead_beef, CodeStart + 0x400]), StackAddress + 16);
        Assert.Equal([CodeStart + 0x100, CodeStart + 0x200], pcs);
        Assert.Equal(UnwindEnd.OutsideModules, result.End);
    }

    [Theory]
    [InlineData(StackAddress - 16)]         // below rsp: not a frame of this stack
    [InlineData(StackAddress + 4)]          // misaligned
    [InlineData(0x1234_5678_0000UL)]        // nowhere near the stack
    public void An_unusable_frame_pointer_is_not_followed(ulong rbp)
    {
        var (pcs, _, result) = Unwind(Chain([16], [CodeStart + 0x200]), rbp);
        Assert.Equal([CodeStart + 0x100], pcs);
        Assert.Equal(UnwindEnd.NoUnwindInfo, result.End);
    }

    [Fact]
    public void A_frame_pointer_loop_is_not_followed()
    {
        var stack = new byte[256];
        BinaryPrimitives.WriteUInt64LittleEndian(stack.AsSpan(32), StackAddress + 32); // saved rbp points at itself
        BinaryPrimitives.WriteUInt64LittleEndian(stack.AsSpan(40), CodeStart + 0x200);
        var (pcs, _, result) = Unwind(stack, StackAddress + 32);
        Assert.Equal(UnwindEnd.NoUnwindInfo, result.End);
        Assert.Equal([CodeStart + 0x100, CodeStart + 0x200], pcs);
    }

    [Fact]
    public void A_chain_cut_by_the_end_of_the_copy_is_stack_exhausted()
    {
        var stack = Chain([16, 64, 160], [CodeStart + 0x200, CodeStart + 0x300, CodeStart + 0x400], size: 512);
        var (pcs, _, result) = Unwind(stack[..100], StackAddress + 16);
        Assert.Equal([CodeStart + 0x100, CodeStart + 0x200, CodeStart + 0x300], pcs);
        Assert.Equal(UnwindEnd.StackExhausted, result.End);
    }
}
