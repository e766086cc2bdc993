using System.Runtime.CompilerServices;
using Profiler.Symbols.Dwarf;

namespace Profiler.Symbols.Unwinding;

/// <summary>Executes DW_CFA_* instructions (DWARF 5 §6.4.2, plus the GNU extensions GCC emits) to
/// find the unwind row in force at one address. Rows are built on the caller's stack: no allocation.</summary>
internal static class CfaProgram
{
    /// <summary>Deeper DW_CFA_remember_state nesting than this is treated as corrupt; compilers nest
    /// one or two levels.</summary>
    public const int MaxRememberedStates = 8;

    [InlineArray(MaxRememberedStates)]
    private struct RowStack
    {
        private UnwindRow _first;
    }

    /// <summary>The row in force at <paramref name="address"/> inside <paramref name="fde"/>.</summary>
    public static UnwindRow RowAt(CfiSection section, in FrameDescriptionEntry fde, ulong address)
    {
        var cie = fde.Cie;
        if (cie.ReturnAddressRegister != DwarfRegister.ReturnAddress)
            throw new DwarfFormatException($"CIE at 0x{cie.Offset:x} names return address column {cie.ReturnAddressRegister}");
        var initial = cie.InitialRow ??= Run(section, cie, cie.InstructionsStart, cie.InstructionsEnd,
            startAddress: 0, targetAddress: ulong.MaxValue, initial: default, isCie: true);
        var row = Run(section, cie, fde.InstructionsStart, fde.InstructionsEnd, fde.PcBegin, address, initial, isCie: false);
        row.IsSignalFrame = cie.IsSignalFrame;
        row.Section = section.Kind;
        row.FunctionStart = fde.PcBegin;
        return row;
    }

    private static UnwindRow Run(CfiSection section, CommonInformationEntry cie, int start, int end,
        ulong startAddress, ulong targetAddress, UnwindRow initial, bool isCie)
    {
        var row = initial;
        var stack = new RowStack();
        int depth = 0;
        ulong location = startAddress;
        var reader = new DwarfCursor(section.Data.AsSpan(0, end), (ulong)start);
        while (!reader.AtEnd)
        {
            byte opcode = reader.U8();
            int low = opcode & 0x3f;
            switch (opcode >> 6)
            {
                case 1: // DW_CFA_advance_loc
                    if (!Advance(ref location, (ulong)low, cie, targetAddress))
                        return row;
                    continue;
                case 2: // DW_CFA_offset
                    row.Set(low, Saved(RegisterRuleKind.Offset, reader.Uleb(), cie));
                    continue;
                case 3: // DW_CFA_restore
                    row.Set(low, Restore(initial, low, isCie));
                    continue;
            }
            switch (opcode)
            {
                case 0x00: // DW_CFA_nop
                    break;
                case 0x01: // DW_CFA_set_loc
                    location = PointerEncoding.Read(ref reader, cie.FdeEncoding, section.Address, section.Bases);
                    if (location > targetAddress)
                        return row;
                    break;
                case 0x02: // DW_CFA_advance_loc1
                    if (!Advance(ref location, reader.U8(), cie, targetAddress))
                        return row;
                    break;
                case 0x03: // DW_CFA_advance_loc2
                    if (!Advance(ref location, reader.U16(), cie, targetAddress))
                        return row;
                    break;
                case 0x04: // DW_CFA_advance_loc4
                    if (!Advance(ref location, reader.U32(), cie, targetAddress))
                        return row;
                    break;
                case 0x1d: // DW_CFA_MIPS_advance_loc8
                    if (!Advance(ref location, reader.U64(), cie, targetAddress))
                        return row;
                    break;
                case 0x05: // DW_CFA_offset_extended
                    row.Set(reader.UlebInt(), Saved(RegisterRuleKind.Offset, reader.Uleb(), cie));
                    break;
                case 0x11: // DW_CFA_offset_extended_sf
                    row.Set(reader.UlebInt(), Saved(RegisterRuleKind.Offset, reader.Sleb(), cie));
                    break;
                case 0x2f: // DW_CFA_GNU_negative_offset_extended
                    row.Set(reader.UlebInt(), Saved(RegisterRuleKind.Offset, -(long)reader.Uleb(), cie));
                    break;
                case 0x14: // DW_CFA_val_offset
                    row.Set(reader.UlebInt(), Saved(RegisterRuleKind.ValueOffset, reader.Uleb(), cie));
                    break;
                case 0x15: // DW_CFA_val_offset_sf
                    row.Set(reader.UlebInt(), Saved(RegisterRuleKind.ValueOffset, reader.Sleb(), cie));
                    break;
                case 0x06: // DW_CFA_restore_extended
                {
                    int register = reader.UlebInt();
                    row.Set(register, Restore(initial, register, isCie));
                    break;
                }
                case 0x07: // DW_CFA_undefined
                    row.Set(reader.UlebInt(), new RegisterRule(RegisterRuleKind.Undefined, 0, 0));
                    break;
                case 0x08: // DW_CFA_same_value
                    row.Set(reader.UlebInt(), new RegisterRule(RegisterRuleKind.SameValue, 0, 0));
                    break;
                case 0x09: // DW_CFA_register
                {
                    int register = reader.UlebInt();
                    row.Set(register, new RegisterRule(RegisterRuleKind.Register, RegisterByte(reader.UlebInt()), 0));
                    break;
                }
                case 0x0a: // DW_CFA_remember_state
                    if (depth == MaxRememberedStates)
                        throw new DwarfFormatException("DW_CFA_remember_state nested too deeply");
                    stack[depth++] = row;
                    break;
                case 0x0b: // DW_CFA_restore_state
                {
                    if (depth == 0)
                        throw new DwarfFormatException("DW_CFA_restore_state without DW_CFA_remember_state");
                    // The CFA is part of the remembered state too (DWARF 5 §6.4.2.4).
                    row = stack[--depth];
                    break;
                }
                case 0x0c: // DW_CFA_def_cfa
                {
                    int register = reader.UlebInt();
                    row.Cfa = new CfaRule(CfaRuleKind.RegisterOffset, RegisterByte(register), CheckedOffset(reader.Uleb()));
                    break;
                }
                case 0x12: // DW_CFA_def_cfa_sf
                {
                    int register = reader.UlebInt();
                    row.Cfa = new CfaRule(CfaRuleKind.RegisterOffset, RegisterByte(register),
                        Factored(reader.Sleb(), cie.DataAlignment));
                    break;
                }
                case 0x0d: // DW_CFA_def_cfa_register
                {
                    int register = reader.UlebInt();
                    int offset = row.Cfa.Kind == CfaRuleKind.RegisterOffset ? row.Cfa.Offset : 0;
                    row.Cfa = new CfaRule(CfaRuleKind.RegisterOffset, RegisterByte(register), offset);
                    break;
                }
                case 0x0e: // DW_CFA_def_cfa_offset
                    row.Cfa = row.Cfa with { Kind = CfaRuleKind.RegisterOffset, Offset = CheckedOffset(reader.Uleb()) };
                    break;
                case 0x13: // DW_CFA_def_cfa_offset_sf
                    row.Cfa = row.Cfa with
                    {
                        Kind = CfaRuleKind.RegisterOffset,
                        Offset = Factored(reader.Sleb(), cie.DataAlignment),
                    };
                    break;
                case 0x0f: // DW_CFA_def_cfa_expression
                    row.Cfa = new CfaRule(CfaRuleKind.Expression, 0, SkipBlock(ref reader));
                    break;
                case 0x10: // DW_CFA_expression
                {
                    int register = reader.UlebInt();
                    row.Set(register, new RegisterRule(RegisterRuleKind.Expression, 0, SkipBlock(ref reader)));
                    break;
                }
                case 0x16: // DW_CFA_val_expression
                {
                    int register = reader.UlebInt();
                    row.Set(register, new RegisterRule(RegisterRuleKind.ValueExpression, 0, SkipBlock(ref reader)));
                    break;
                }
                case 0x2e: // DW_CFA_GNU_args_size: only matters to exception handling
                    reader.Uleb();
                    break;
                default:
                    throw new DwarfFormatException($"unknown call frame instruction 0x{opcode:x2} at 0x{reader.Position - 1:x}");
            }
        }
        return row;
    }

    /// <summary>Moves the location on; false when it passes the target, so the row is complete.</summary>
    private static bool Advance(ref ulong location, ulong delta, CommonInformationEntry cie, ulong target)
    {
        ulong next = location + delta * cie.CodeAlignment;
        if (next < location || next > target)
            return false;
        location = next;
        return true;
    }

    private static RegisterRule Restore(in UnwindRow initial, int register, bool isCie) =>
        isCie || (uint)register >= DwarfRegister.Count ? default : initial.Get(register);

    private static RegisterRule Saved(RegisterRuleKind kind, ulong factored, CommonInformationEntry cie) =>
        factored <= int.MaxValue
            ? Saved(kind, (long)factored, cie)
            : throw new DwarfFormatException($"offset 0x{factored:x} is out of range");

    private static RegisterRule Saved(RegisterRuleKind kind, long factored, CommonInformationEntry cie) =>
        new(kind, 0, Factored(factored, cie.DataAlignment));

    private static int Factored(long value, long factor)
    {
        long product = value * factor;
        if (Math.Abs(value) > int.MaxValue || Math.Abs(factor) > int.MaxValue || product is > int.MaxValue or < int.MinValue)
            throw new DwarfFormatException($"offset {value} × {factor} is out of range");
        return (int)product;
    }

    private static int CheckedOffset(ulong value) =>
        value <= int.MaxValue ? (int)value : throw new DwarfFormatException($"CFA offset 0x{value:x} is out of range");

    /// <summary>Register numbers past 255 cannot be x86-64 integer registers; 255 marks them unusable.</summary>
    private static byte RegisterByte(int register) => register < byte.MaxValue ? (byte)register : byte.MaxValue;

    /// <summary>Skips a ULEB128-length-prefixed block; returns where its length starts.</summary>
    private static int SkipBlock(ref DwarfCursor reader)
    {
        int position = (int)reader.Position;
        reader.Skip(reader.Uleb());
        return position;
    }
}
