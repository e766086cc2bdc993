using System.Buffers.Binary;
using Profiler.Symbols.Unwinding;
using static Profiler.Tests.Unwinding.Cfa;

namespace Profiler.Tests.Unwinding;

/// <summary>DWARF expressions of the kinds CFI uses, evaluated against hand-made registers and stack.</summary>
public sealed class DwarfExpressionTests
{
    private const ulong StackAddress = 0x7ffd_0000;
    private static readonly byte[] Stack = MakeStack();

    private static byte[] MakeStack()
    {
        var bytes = new byte[256];
        for (int i = 0; i < bytes.Length / 8; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), 0x1000UL * (ulong)i + 0xab);
        return bytes;
    }

    private static bool Evaluate(byte[] expression, out ulong result, ulong? initial = null, ulong? cfa = null,
        ulong rsp = StackAddress, ulong? rip = null)
    {
        var registers = new RegisterSet();
        registers.Set(DwarfRegister.Rsp, rsp);
        registers.Set(DwarfRegister.Rbx, 5);
        if (rip is { } pc)
            registers.Set(DwarfRegister.ReturnAddress, pc);
        return DwarfExpression.TryEvaluate(expression, registers, new StackMemory(Stack, StackAddress), initial, cfa, out result);
    }

    private static ulong Value(params byte[][] operations)
    {
        Assert.True(Evaluate(Program(operations), out ulong result));
        return result;
    }

    /// <summary>glibc's PLT CFA: rsp + 8, plus 8 more once the entry's `push` (ending at byte 11 of the
    /// 16-byte entry) has run.</summary>
    [Theory]
    [InlineData(0x1030UL, 8UL)]
    [InlineData(0x1036UL, 8UL)]
    [InlineData(0x103aUL, 8UL)]
    [InlineData(0x103bUL, 16UL)]
    [InlineData(0x103fUL, 16UL)]
    public void Glibc_plt_cfa(ulong rip, ulong expectedOffset)
    {
        var plt = Program(Breg(DwarfRegister.Rsp, 8), Breg(DwarfRegister.ReturnAddress, 0), Lit(15), [And], Lit(11), [Ge], Lit(3), [Shl], [Plus]);
        Assert.True(Evaluate(plt, out ulong cfa, rip: rip));
        Assert.Equal(StackAddress + expectedOffset, cfa);
    }

    [Fact]
    public void Signal_frame_cfa_reads_the_saved_stack_pointer()
    {
        // __restore_rt: CFA = *(rsp + 160), the interrupted rsp in the ucontext.
        Assert.True(Evaluate(Program(Breg(DwarfRegister.Rsp, 160), [Deref]), out ulong cfa));
        Assert.Equal(0x1000UL * 20 + 0xab, cfa);
        // and rip is saved at rsp + 168 (a DW_CFA_expression: the address, not the value).
        Assert.True(Evaluate(Breg(DwarfRegister.Rsp, 168), out ulong slot, initial: 0xdead));
        Assert.Equal(StackAddress + 168, slot);
    }

    [Fact]
    public void Arithmetic_and_logic()
    {
        Assert.Equal(12UL, Value(Lit(5), Lit(7), [Plus]));
        Assert.Equal(unchecked((ulong)-2), Value(Lit(5), Lit(7), [Minus]));
        Assert.Equal(35UL, Value(Lit(5), Lit(7), [Mul]));
        Assert.Equal(unchecked((ulong)-3), Value(Consts(-7), Lit(2), [Div]));
        Assert.Equal(1UL, Value(Lit(7), Lit(2), [Mod]));
        Assert.Equal(0b0100UL, Value(Lit(0b1100), Lit(0b0110), [And]));
        Assert.Equal(0b1110UL, Value(Lit(0b1100), Lit(0b0110), [Or]));
        Assert.Equal(0b1010UL, Value(Lit(0b1100), Lit(0b0110), [Xor]));
        Assert.Equal(40UL, Value(Lit(5), Lit(3), [Shl]));
        Assert.Equal(2UL, Value(Lit(20), Lit(3), [Shr]));
        Assert.Equal(unchecked((ulong)-4), Value(Consts(-32), Lit(3), [Shra]));
        Assert.Equal(unchecked((ulong)-9), Value(Lit(9), [Neg]));
        Assert.Equal(~9UL, Value(Lit(9), [Not]));
        Assert.Equal(9UL, Value(Consts(-9), [Abs]));
        Assert.Equal(1000UL + 24, Value(Constu(1000), PlusUconst(24)));
        Assert.Equal(5UL + 16, Value(Bregx(DwarfRegister.Rbx, 16)));
    }

    [Fact]
    public void Comparisons_are_signed()
    {
        Assert.Equal(1UL, Value(Consts(-1), Lit(0), [Lt]));
        Assert.Equal(0UL, Value(Consts(-1), Lit(0), [Gt]));
        Assert.Equal(1UL, Value(Lit(3), Lit(3), [Le]));
        Assert.Equal(1UL, Value(Lit(3), Lit(3), [Ge]));
        Assert.Equal(1UL, Value(Lit(3), Lit(3), [Eq]));
        Assert.Equal(0UL, Value(Lit(3), Lit(3), [Ne]));
    }

    [Fact]
    public void Stack_operations()
    {
        Assert.Equal(14UL, Value(Lit(7), [Dup], [Plus]));
        Assert.Equal(1UL, Value(Lit(1), Lit(2), [Drop]));
        Assert.Equal(1UL, Value(Lit(1), Lit(2), [Over]));
        Assert.Equal(1UL, Value(Lit(1), Lit(2), Lit(3), Pick(2)));
        Assert.Equal(1UL, Value(Lit(1), Lit(2), [Swap]));
        // rot: (1 2 3) -> (3 1 2), top is 2
        Assert.Equal(2UL, Value(Lit(1), Lit(2), Lit(3), [Rot]));
        Assert.Equal(3UL, Value(Lit(1), Lit(2), Lit(3), [Rot], [Drop], [Drop]));
    }

    [Fact]
    public void Branches_and_loops()
    {
        // if (x) 10 else 20; offsets count from the end of the branch's operand
        Assert.Equal(10UL, Value(Lit(1), Bra(4), Lit(20), Skip(1), Lit(10)));
        Assert.Equal(20UL, Value(Lit(0), Bra(4), Lit(20), Skip(1), Lit(10)));
        // x = 5; do x -= 1; while (x): the branch goes back to "lit1"
        Assert.Equal(0UL, Value(Lit(5), Lit(1), [Minus], [Dup], Bra(-6)));
    }

    [Fact]
    public void Memory_reads_with_sizes()
    {
        Assert.Equal(0xabUL, Value(Constu(StackAddress), DerefSize(1)));
        Assert.Equal(0x10abUL, Value(Constu(StackAddress + 8), DerefSize(4)));
        Assert.Equal(0x10abUL, Value(Constu(StackAddress + 8), [Deref]));
    }

    [Fact]
    public void Initial_value_and_call_frame_cfa()
    {
        Assert.True(Evaluate(Program(PlusUconst(16)), out ulong pushed, initial: 100));
        Assert.Equal(116UL, pushed);
        Assert.True(Evaluate(Program([CallFrameCfa], Lit(8), [Minus]), out ulong slot, cfa: 0x5000));
        Assert.Equal(0x4ff8UL, slot);
        Assert.False(Evaluate([CallFrameCfa], out _));
    }

    [Theory]
    [InlineData(new byte[0])]                                     // empty: no result
    [InlineData(new byte[] { Plus })]                             // stack underflow
    [InlineData(new byte[] { 0x30, 0x30, Div })]                  // division by zero
    [InlineData(new byte[] { 0x30, 0x30, Mod })]                  // modulo by zero
    [InlineData(new byte[] { 0x30, Deref })]                      // reads outside the copied stack
    [InlineData(new byte[] { 0x70 + DwarfRegister.Rax, 0 })]     // a register that is not known
    [InlineData(new byte[] { Addr, 0, 0, 0, 0, 0, 0, 0, 0 })]     // a link-time address: never guessed
    [InlineData(new byte[] { 0x50 })]                             // DW_OP_reg0 names a location, not a value
    [InlineData(new byte[] { 0x2f, 0x00 })]                       // truncated operand
    [InlineData(new byte[] { 0x2f, 0x10, 0x00 })]                 // skip past the end
    [InlineData(new byte[] { 0x2f, 0xfd, 0xff })]                 // skip to itself: endless loop, bounded
    [InlineData(new byte[] { 0xff })]                             // unknown operation
    public void Failures_are_reported_not_guessed(byte[] expression)
    {
        Assert.False(Evaluate(expression, out _));
    }

    [Fact]
    public void Stack_depth_is_bounded()
    {
        var deep = Enumerable.Repeat((byte)0x31, DwarfExpression.MaxStackDepth + 1).ToArray();
        Assert.False(Evaluate(deep, out _));
        Assert.True(Evaluate(deep[..DwarfExpression.MaxStackDepth], out ulong one));
        Assert.Equal(1UL, one);
    }
}
