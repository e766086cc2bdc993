using System.Runtime.CompilerServices;
using Profiler.Symbols.Dwarf;

namespace Profiler.Symbols.Unwinding;

/// <summary>
/// Evaluates the DWARF expressions found in call frame information (DWARF 5 §2.5): a stack machine
/// over 64-bit values with register reads (DW_OP_breg*) and memory reads (DW_OP_deref*) served from
/// the copied stack. Operations that name locations rather than values (DW_OP_reg*, pieces) or need
/// the program's address space (DW_OP_addr, TLS) make the evaluation fail: an unwinder must never
/// continue on a guessed value.
/// </summary>
public static class DwarfExpression
{
    public const int MaxStackDepth = 64;

    /// <summary>Bounds the work a looping expression (DW_OP_bra backwards) can do.</summary>
    public const int MaxOperations = 10_000;

    [InlineArray(MaxStackDepth)]
    private struct ValueStack
    {
        private ulong _first;
    }

    /// <summary>Evaluates <paramref name="expression"/>. <paramref name="initial"/> is pushed first when
    /// given (the CFA, for DW_CFA_expression and DW_CFA_val_expression); <paramref name="cfa"/> answers
    /// DW_OP_call_frame_cfa. False when the expression is malformed or needs something unknown.</summary>
    public static bool TryEvaluate(ReadOnlySpan<byte> expression, in RegisterSet registers, in StackMemory memory,
        ulong? initial, ulong? cfa, out ulong result)
    {
        result = 0;
        try
        {
            return Evaluate(expression, registers, memory, initial, cfa, out result);
        }
        catch (DwarfFormatException)
        {
            return false;
        }
    }

    private static bool Evaluate(ReadOnlySpan<byte> expression, in RegisterSet registers, in StackMemory memory,
        ulong? initial, ulong? cfa, out ulong result)
    {
        result = 0;
        var stack = new ValueStack();
        int depth = 0;
        if (initial is { } first)
            stack[depth++] = first;
        var reader = new DwarfCursor(expression);
        for (int operations = 0; !reader.AtEnd; operations++)
        {
            if (operations == MaxOperations)
                return false;
            byte op = reader.U8();
            ulong a, b;
            switch (op)
            {
                case >= 0x30 and <= 0x4f: // DW_OP_lit0..31
                    if (!Push(ref stack, ref depth, (ulong)(op - 0x30)))
                        return false;
                    continue;
                case >= 0x70 and <= 0x8f: // DW_OP_breg0..31
                {
                    long offset = reader.Sleb();
                    if (!registers.TryGet(op - 0x70, out ulong value) || !Push(ref stack, ref depth, value + (ulong)offset))
                        return false;
                    continue;
                }
            }
            switch (op)
            {
                case 0x92: // DW_OP_bregx
                {
                    ulong register = reader.Uleb();
                    long offset = reader.Sleb();
                    if (register >= DwarfRegister.Count || !registers.TryGet((int)register, out ulong bregValue) ||
                        !Push(ref stack, ref depth, bregValue + (ulong)offset))
                        return false;
                    break;
                }
                case 0x08: // DW_OP_const1u
                    if (!Push(ref stack, ref depth, reader.U8())) return false;
                    break;
                case 0x09: // DW_OP_const1s
                    if (!Push(ref stack, ref depth, (ulong)(sbyte)reader.U8())) return false;
                    break;
                case 0x0a: // DW_OP_const2u
                    if (!Push(ref stack, ref depth, reader.U16())) return false;
                    break;
                case 0x0b: // DW_OP_const2s
                    if (!Push(ref stack, ref depth, (ulong)(short)reader.U16())) return false;
                    break;
                case 0x0c: // DW_OP_const4u
                    if (!Push(ref stack, ref depth, reader.U32())) return false;
                    break;
                case 0x0d: // DW_OP_const4s
                    if (!Push(ref stack, ref depth, (ulong)(int)reader.U32())) return false;
                    break;
                case 0x0e or 0x0f: // DW_OP_const8u, DW_OP_const8s
                    if (!Push(ref stack, ref depth, reader.U64())) return false;
                    break;
                case 0x10: // DW_OP_constu
                    if (!Push(ref stack, ref depth, reader.Uleb())) return false;
                    break;
                case 0x11: // DW_OP_consts
                    if (!Push(ref stack, ref depth, (ulong)reader.Sleb())) return false;
                    break;
                case 0x12: // DW_OP_dup
                    if (depth < 1 || !Push(ref stack, ref depth, stack[depth - 1])) return false;
                    break;
                case 0x13: // DW_OP_drop
                    if (depth < 1) return false;
                    depth--;
                    break;
                case 0x14: // DW_OP_over
                    if (depth < 2 || !Push(ref stack, ref depth, stack[depth - 2])) return false;
                    break;
                case 0x15: // DW_OP_pick
                {
                    int index = reader.U8();
                    if (index >= depth || !Push(ref stack, ref depth, stack[depth - 1 - index])) return false;
                    break;
                }
                case 0x16: // DW_OP_swap
                    if (depth < 2) return false;
                    (stack[depth - 1], stack[depth - 2]) = (stack[depth - 2], stack[depth - 1]);
                    break;
                case 0x17: // DW_OP_rot: the top entry moves below the next two
                    if (depth < 3) return false;
                    (stack[depth - 1], stack[depth - 2], stack[depth - 3]) = (stack[depth - 2], stack[depth - 3], stack[depth - 1]);
                    break;
                case 0x06: // DW_OP_deref
                    if (depth < 1 || !memory.TryRead(stack[depth - 1], out stack[depth - 1])) return false;
                    break;
                case 0x94: // DW_OP_deref_size
                {
                    int size = reader.U8();
                    if (depth < 1 || !memory.TryRead(stack[depth - 1], size, out stack[depth - 1])) return false;
                    break;
                }
                case 0x19: // DW_OP_abs
                    if (depth < 1) return false;
                    if ((long)stack[depth - 1] < 0)
                        stack[depth - 1] = (ulong)-(long)stack[depth - 1];
                    break;
                case 0x1f: // DW_OP_neg
                    if (depth < 1) return false;
                    stack[depth - 1] = (ulong)-(long)stack[depth - 1];
                    break;
                case 0x20: // DW_OP_not
                    if (depth < 1) return false;
                    stack[depth - 1] = ~stack[depth - 1];
                    break;
                case 0x23: // DW_OP_plus_uconst
                    if (depth < 1) return false;
                    stack[depth - 1] += reader.Uleb();
                    break;
                case 0x1a or 0x1b or 0x1c or 0x1d or 0x1e or 0x21 or 0x22 or 0x24 or 0x25 or 0x26 or 0x27
                    or 0x29 or 0x2a or 0x2b or 0x2c or 0x2d or 0x2e:
                {
                    if (depth < 2) return false;
                    b = stack[--depth];
                    a = stack[depth - 1];
                    if (!Binary(op, a, b, out stack[depth - 1])) return false;
                    break;
                }
                case 0x2f: // DW_OP_skip
                {
                    short delta = (short)reader.U16();
                    if (!Jump(ref reader, delta)) return false;
                    break;
                }
                case 0x28: // DW_OP_bra
                {
                    short delta = (short)reader.U16();
                    if (depth < 1) return false;
                    if (stack[--depth] != 0 && !Jump(ref reader, delta)) return false;
                    break;
                }
                case 0x9c: // DW_OP_call_frame_cfa
                    if (cfa is not { } frameAddress || !Push(ref stack, ref depth, frameAddress)) return false;
                    break;
                case 0x96: // DW_OP_nop
                    break;
                default:
                    return false;
            }
        }
        if (depth < 1)
            return false;
        result = stack[depth - 1];
        return true;
    }

    private static bool Binary(byte op, ulong a, ulong b, out ulong value)
    {
        value = 0;
        long sa = (long)a, sb = (long)b;
        switch (op)
        {
            case 0x1a: value = a & b; break;                                    // DW_OP_and
            case 0x1b:                                                          // DW_OP_div (signed)
                if (sb == 0 || (sa == long.MinValue && sb == -1)) return false;
                value = (ulong)(sa / sb);
                break;
            case 0x1c: value = a - b; break;                                    // DW_OP_minus
            case 0x1d:                                                          // DW_OP_mod
                if (b == 0) return false;
                value = a % b;
                break;
            case 0x1e: value = a * b; break;                                    // DW_OP_mul
            case 0x21: value = a | b; break;                                    // DW_OP_or
            case 0x22: value = a + b; break;                                    // DW_OP_plus
            case 0x24: value = b >= 64 ? 0 : a << (int)b; break;                // DW_OP_shl
            case 0x25: value = b >= 64 ? 0 : a >> (int)b; break;                // DW_OP_shr
            case 0x26: value = (ulong)(sa >> (int)Math.Min(b, 63)); break;      // DW_OP_shra
            case 0x27: value = a ^ b; break;                                    // DW_OP_xor
            case 0x29: value = sa == sb ? 1UL : 0; break;                       // DW_OP_eq
            case 0x2a: value = sa >= sb ? 1UL : 0; break;                       // DW_OP_ge
            case 0x2b: value = sa > sb ? 1UL : 0; break;                        // DW_OP_gt
            case 0x2c: value = sa <= sb ? 1UL : 0; break;                       // DW_OP_le
            case 0x2d: value = sa < sb ? 1UL : 0; break;                        // DW_OP_lt
            case 0x2e: value = sa != sb ? 1UL : 0; break;                       // DW_OP_ne
            default: return false;
        }
        return true;
    }

    private static bool Jump(ref DwarfCursor reader, short delta)
    {
        int target = (int)reader.Position + delta;
        if (target < 0 || target > reader.Length)
            return false;
        reader.Position = (ulong)target;
        return true;
    }

    private static bool Push(ref ValueStack stack, ref int depth, ulong value)
    {
        if (depth == MaxStackDepth)
            return false;
        stack[depth++] = value;
        return true;
    }
}
