using Profiler.Collectors.Linux.Inject;

namespace Profiler.Tests.Collector.Inject;

/// <summary>Where the probe's signal leaves a thread: past the entry's first instruction, whose
/// stack effect is undone to find the caller's return address.</summary>
public sealed class RemoteLoaderPrologueTests
{
    [Theory]
    [InlineData(new byte[] { 0x41, 0x54 }, 2, 8UL)]                          // push r12 (glibc malloc)
    [InlineData(new byte[] { 0x55 }, 1, 8UL)]                                // push rbp
    [InlineData(new byte[] { 0x48, 0x85, 0xff }, 3, 0UL)]                    // test rdi, rdi (glibc free)
    [InlineData(new byte[] { 0x48, 0x81, 0xff, 0x00, 0x10, 0, 0 }, 7, 0UL)]  // cmp rdi, 0x1000 (jemalloc malloc)
    [InlineData(new byte[] { 0xf3, 0x0f, 0x1e, 0xfa }, 4, 0UL)]              // endbr64
    [InlineData(new byte[] { 0x48, 0x83, 0xec, 0x18 }, 4, 0x18UL)]           // sub rsp, 0x18
    public void The_first_step_and_its_stack_drop(byte[] code, int length, ulong drop) =>
        Assert.Equal((length, drop), RemoteLoaderPrologue.FirstStep([.. code, .. new byte[16]]));

    [Theory]
    [InlineData(new byte[] { 0xe9, 0, 1, 0, 0 })]          // jmp rel32
    [InlineData(new byte[] { 0xff, 0x25, 0, 1, 0, 0 })]    // jmp [rip+x] (a PLT-like thunk)
    [InlineData(new byte[] { 0xe8, 0, 1, 0, 0 })]          // call
    [InlineData(new byte[] { 0xc3 })]                      // ret
    [InlineData(new byte[] { 0x48, 0x89, 0xec })]          // mov rsp, rbp
    [InlineData(new byte[] { 0x5d })]                      // pop rbp
    public void An_instruction_that_leaves_or_moves_the_stack_unknowably_is_refused(byte[] code) =>
        Assert.Null(RemoteLoaderPrologue.FirstStep([.. code, .. new byte[16]]));

    [Fact]
    public void The_entry_stack_pointer_is_the_one_at_the_entry_or_after_the_step()
    {
        var entry = new RemoteLoaderEntry("malloc", 0x1000, 0x1000, 2, 8);
        Assert.Equal(0x7ff8UL, entry.EntryStackPointer(0x1000, 0x7ff8));
        Assert.Equal(0x7ff8UL, entry.EntryStackPointer(0x1002, 0x7ff0));
        Assert.Null(entry.EntryStackPointer(0x1001, 0x7ff0));
        Assert.Null(entry.EntryStackPointer(0x1003, 0x7ff0));
    }
}
