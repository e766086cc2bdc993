using Profiler.Symbols.Unwinding;
using static Profiler.Tests.Unwinding.Cfa;

namespace Profiler.Tests.Unwinding;

/// <summary>CFA programs written byte by byte (DWARF 5 §6.4.2), checked row by row.</summary>
public sealed class CfaProgramTests
{
    private const ulong Section = 0x2000;
    private const ulong Function = 0x1000;
    private const int Rbx = DwarfRegister.Rbx, Rbp = DwarfRegister.Rbp, Rsp = DwarfRegister.Rsp, Ra = DwarfRegister.ReturnAddress;

    private static UnwindTables Tables(byte[] program, string augmentation = "zR", byte[]? augmentationData = null,
        byte[]? cieInstructions = null, ulong codeAlignment = 1)
    {
        var builder = new CfiBuilder();
        int cie = builder.Cie(augmentation, codeAlignment: codeAlignment, augmentationData: augmentationData,
            instructions: cieInstructions);
        builder.Fde(cie, Section, Function, 0x100, program);
        builder.Terminator();
        return UnwindTables.FromEhFrame(builder.Bytes, Section);
    }

    private static UnwindRow Row(UnwindTables tables, ulong offset)
    {
        Assert.True(tables.TryFindRow(Function + offset, out var row), $"no row at +0x{offset:x}");
        return row;
    }

    [Fact]
    public void Prologue_and_epilogue_rows_follow_the_advances()
    {
        // push %rbp; push %rbx; ... pop %rbx; pop %rbp; ret
        var tables = Tables(Program(
            AdvanceLoc(1), DefCfaOffset(16), Offset(Rbp, 2),
            AdvanceLoc(1), DefCfaOffset(24), Offset(Rbx, 3),
            AdvanceLoc1(0x40), DefCfaOffset(16), Restore(Rbx),
            AdvanceLoc(1), DefCfaOffset(8), Restore(Rbp)));
        Assert.Equal(new CfaRule(CfaRuleKind.RegisterOffset, Rsp, 8), Row(tables, 0).Cfa);
        Assert.Equal(RegisterRule.Offset(-8), Row(tables, 0)[Ra]);
        Assert.Equal(RegisterRuleKind.Unspecified, Row(tables, 0)[Rbp].Kind);
        Assert.Equal(new CfaRule(CfaRuleKind.RegisterOffset, Rsp, 16), Row(tables, 1).Cfa);
        Assert.Equal(RegisterRule.Offset(-16), Row(tables, 1)[Rbp]);
        var body = Row(tables, 0x30);
        Assert.Equal(24, body.Cfa.Offset);
        Assert.Equal(RegisterRule.Offset(-24), body[Rbx]);
        Assert.Equal(RegisterRule.Offset(-16), body[Rbp]);
        var epilogue = Row(tables, 0x42);
        Assert.Equal(16, epilogue.Cfa.Offset);
        Assert.Equal(RegisterRuleKind.Unspecified, epilogue[Rbx].Kind);
        Assert.Equal(8, Row(tables, 0x43).Cfa.Offset);
        Assert.Equal(RegisterRuleKind.Unspecified, Row(tables, 0x43)[Rbp].Kind);
        Assert.Equal(Function, Row(tables, 0x43).FunctionStart);
    }

    [Fact]
    public void Advances_scale_by_the_code_alignment_factor()
    {
        var tables = Tables(Program(AdvanceLoc(2), DefCfaOffset(16)), codeAlignment: 4);
        Assert.Equal(8, Row(tables, 7).Cfa.Offset);
        Assert.Equal(16, Row(tables, 8).Cfa.Offset);
    }

    [Fact]
    public void Wide_advances_and_set_loc()
    {
        // DW_CFA_set_loc's operand uses the FDE pointer encoding: absolute 8-byte pointers here ("zR" 0x00).
        var builder = new CfiBuilder();
        int cie = builder.Cie("zR", augmentationData: [0x00]);
        builder.Fde(cie, Section, Function, 0x100, Program(
            AdvanceLoc2(0x10), DefCfaOffset(16),
            AdvanceLoc4(0x10), DefCfaOffset(24),
            SetLoc(Function + 0x80), DefCfaOffset(32)), pointerSize: 8);
        var tables = UnwindTables.FromEhFrame(builder.Bytes, Section);
        Assert.Equal(8, Row(tables, 0xf).Cfa.Offset);
        Assert.Equal(16, Row(tables, 0x10).Cfa.Offset);
        Assert.Equal(24, Row(tables, 0x20).Cfa.Offset);
        Assert.Equal(24, Row(tables, 0x7f).Cfa.Offset);
        Assert.Equal(32, Row(tables, 0x80).Cfa.Offset);
    }

    [Fact]
    public void Remember_and_restore_state_bring_back_cfa_and_registers()
    {
        // An early return in the middle of a function: the epilogue's rows, then the body's again.
        var tables = Tables(Program(
            AdvanceLoc(1), DefCfaOffset(16), Offset(Rbx, 2),
            AdvanceLoc(4), RememberState(), DefCfaOffset(8), Restore(Rbx),
            AdvanceLoc(1), RestoreState()));
        Assert.Equal(8, Row(tables, 5).Cfa.Offset);
        Assert.Equal(RegisterRuleKind.Unspecified, Row(tables, 5)[Rbx].Kind);
        Assert.Equal(16, Row(tables, 6).Cfa.Offset);
        Assert.Equal(RegisterRule.Offset(-16), Row(tables, 6)[Rbx]);
    }

    [Fact]
    public void Restore_returns_to_the_cie_rule()
    {
        var tables = Tables(Program(AdvanceLoc(1), Offset(Ra, 3), SameValue(Rbx), AdvanceLoc(1), Restore(Ra), RestoreExtended(Rbx)),
            cieInstructions: Program(DefCfa(Rsp, 8), Offset(Ra, 1), Undefined(Rbx)));
        Assert.Equal(RegisterRule.Offset(-24), Row(tables, 1)[Ra]);
        Assert.Equal(RegisterRuleKind.SameValue, Row(tables, 1)[Rbx].Kind);
        Assert.Equal(RegisterRule.Offset(-8), Row(tables, 2)[Ra]);
        Assert.Equal(RegisterRuleKind.Undefined, Row(tables, 2)[Rbx].Kind);
    }

    [Fact]
    public void Every_register_rule_form()
    {
        var tables = Tables(Program(
            OffsetExtended(DwarfRegister.R12, 3),
            OffsetExtendedSf(DwarfRegister.R13, -4),
            GnuNegativeOffsetExtended(DwarfRegister.R14, 5),
            ValOffset(DwarfRegister.R15, 2),
            ValOffsetSf(Rbx, 1),
            Register(Rbp, DwarfRegister.Rdx),
            Undefined(DwarfRegister.Rax),
            SameValue(DwarfRegister.Rcx),
            GnuArgsSize(32),
            Offset(40, 1), // xmm23: not tracked, must not disturb the others
            Expression(DwarfRegister.Rsi, Breg(Rsp, 24)),
            ValExpression(DwarfRegister.Rdi, Program(Breg(Rsp, 8), PlusUconst(8)))));
        var row = Row(tables, 0);
        Assert.Equal(new RegisterRule(RegisterRuleKind.Offset, 0, -24), row[DwarfRegister.R12]);
        Assert.Equal(new RegisterRule(RegisterRuleKind.Offset, 0, 32), row[DwarfRegister.R13]);
        Assert.Equal(new RegisterRule(RegisterRuleKind.Offset, 0, 40), row[DwarfRegister.R14]);
        Assert.Equal(new RegisterRule(RegisterRuleKind.ValueOffset, 0, -16), row[DwarfRegister.R15]);
        Assert.Equal(new RegisterRule(RegisterRuleKind.ValueOffset, 0, -8), row[Rbx]);
        Assert.Equal(new RegisterRule(RegisterRuleKind.Register, DwarfRegister.Rdx, 0), row[Rbp]);
        Assert.Equal(RegisterRuleKind.Undefined, row[DwarfRegister.Rax].Kind);
        Assert.Equal(RegisterRuleKind.SameValue, row[DwarfRegister.Rcx].Kind);
        Assert.Equal(RegisterRuleKind.Expression, row[DwarfRegister.Rsi].Kind);
        Assert.Equal(Breg(Rsp, 24), tables.Expression(row, row[DwarfRegister.Rsi].Value).ToArray());
        Assert.Equal(RegisterRuleKind.ValueExpression, row[DwarfRegister.Rdi].Kind);
        Assert.Equal(Program(Breg(Rsp, 8), PlusUconst(8)), tables.Expression(row, row[DwarfRegister.Rdi].Value).ToArray());
        Assert.Equal(RegisterRule.Offset(-8), row[Ra]);
    }

    [Fact]
    public void Every_cfa_rule_form()
    {
        byte[] pltExpression = Program(Breg(Rsp, 8), Breg(Ra, 0), Lit(15), [And], Lit(11), [Ge], Lit(3), [Shl], [Plus]);
        var tables = Tables(Program(
            DefCfaSf(Rbp, -2),
            AdvanceLoc(1), DefCfaOffsetSf(-4),
            AdvanceLoc(1), DefCfaRegister(DwarfRegister.R10),
            AdvanceLoc(1), DefCfaExpression(pltExpression),
            AdvanceLoc(1), DefCfa(Rsp, 300)));
        Assert.Equal(new CfaRule(CfaRuleKind.RegisterOffset, Rbp, 16), Row(tables, 0).Cfa);
        Assert.Equal(new CfaRule(CfaRuleKind.RegisterOffset, Rbp, 32), Row(tables, 1).Cfa);
        Assert.Equal(new CfaRule(CfaRuleKind.RegisterOffset, DwarfRegister.R10, 32), Row(tables, 2).Cfa);
        var expression = Row(tables, 3);
        Assert.Equal(CfaRuleKind.Expression, expression.Cfa.Kind);
        Assert.Equal(pltExpression, tables.Expression(expression, expression.Cfa.Offset).ToArray());
        Assert.Equal(new CfaRule(CfaRuleKind.RegisterOffset, Rsp, 300), Row(tables, 4).Cfa);
    }

    [Fact]
    public void Signal_frame_augmentation_marks_the_row()
    {
        Assert.True(Row(Tables([], augmentation: "zRS"), 0).IsSignalFrame);
        Assert.False(Row(Tables([]), 0).IsSignalFrame);
    }

    [Fact]
    public void Personality_and_lsda_augmentations_are_skipped()
    {
        // "zPLR": personality (indirect pcrel sdata4), LSDA encoding, FDE encoding; the FDE carries a 4-byte LSDA.
        var builder = new CfiBuilder();
        int cie = builder.Cie("zPLR", augmentationData: [0x9b, 0x10, 0, 0, 0, 0x1b, 0x1b]);
        builder.Fde(cie, Section, Function, 0x10, Program(AdvanceLoc(1), DefCfaOffset(16)), augmentationData: [0, 0, 0, 0]);
        var tables = UnwindTables.FromEhFrame(builder.Bytes, Section);
        Assert.Equal(16, Row(tables, 1).Cfa.Offset);
    }

    [Fact]
    public void Absolute_fde_pointers_without_augmentation()
    {
        var builder = new CfiBuilder();
        int cie = builder.Cie(augmentation: "");
        builder.Fde(cie, Section, Function, 0x10, Program(AdvanceLoc(2), DefCfaOffset(16)), zAugmentation: false, pointerSize: 8);
        var tables = UnwindTables.FromEhFrame(builder.Bytes, Section);
        Assert.Equal(16, Row(tables, 2).Cfa.Offset);
    }

    [Fact]
    public void Addresses_outside_every_fde_have_no_row()
    {
        var tables = Tables([]);
        Assert.False(tables.TryFindRow(Function - 1, out _));
        Assert.False(tables.TryFindRow(Function + 0x100, out _));
        Assert.True(tables.TryFindRow(Function + 0xff, out _));
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(4, false)]
    [InlineData(1, true)]
    [InlineData(4, true)]
    public void Debug_frame_cie_versions_and_64_bit_format(byte version, bool dwarf64)
    {
        var builder = new CfiBuilder(debugFrame: true, dwarf64);
        int cie = builder.Cie(augmentation: "", version: version, returnAddress: 16);
        builder.Fde(cie, 0, 0x5000, 0x40, Program(AdvanceLoc(4), DefCfaOffset(32), Offset(Rbx, 3)));
        builder.Fde(cie, 0, 0x6000, 0x40, Program(AdvanceLoc(1), DefCfaOffset(16)));
        var tables = UnwindTables.FromDebugFrame(builder.Bytes);
        Assert.True(tables.TryFindRow(0x5004, out var row));
        Assert.Equal(32, row.Cfa.Offset);
        Assert.Equal(RegisterRule.Offset(-24), row[Rbx]);
        Assert.Equal(CfiSectionKind.DebugFrame, row.Section);
        Assert.True(tables.TryFindRow(0x6001, out row));
        Assert.Equal(16, row.Cfa.Offset);
        Assert.False(tables.TryFindRow(0x5040, out _));
    }

    [Fact]
    public void Debug_frame_version_4_with_4_byte_addresses()
    {
        var builder = new CfiBuilder(debugFrame: true);
        int cie = builder.Cie(augmentation: "", version: 4, addressSize: 4);
        builder.Fde(cie, 0, 0x5000, 0x40, Program(AdvanceLoc(4), DefCfaOffset(32)), pointerSize: 4);
        Assert.True(UnwindTables.FromDebugFrame(builder.Bytes).TryFindRow(0x5004, out var row));
        Assert.Equal(32, row.Cfa.Offset);
    }

    [Fact]
    public void Eh_frame_hdr_table_finds_the_same_fdes_as_a_scan()
    {
        const ulong headerAddress = 0x1800;
        var builder = new CfiBuilder();
        int cie = builder.Cie();
        var fdes = new List<(ulong Start, int FdeOffset)>();
        for (int i = 0; i < 50; i++)
        {
            // Out of address order in the section, as linkers may lay them out.
            ulong start = Function + (ulong)((i * 37 % 50) * 0x20);
            fdes.Add((start, builder.Fde(cie, Section, start, 0x10, Program(AdvanceLoc(1), DefCfaOffset((ulong)(16 + i))))));
        }
        builder.Terminator();
        var indexed = UnwindTables.FromEhFrame(builder.Bytes, Section, CfiBuilder.Header(headerAddress, Section, fdes), headerAddress);
        var scanned = UnwindTables.FromEhFrame(builder.Bytes, Section);
        Assert.True(indexed.UsesEhFrameHeader);
        for (ulong address = Function - 4; address < Function + 50 * 0x20 + 4; address++)
        {
            bool found = indexed.TryFindRow(address, out var fromHeader);
            Assert.Equal(found, scanned.TryFindRow(address, out var fromScan));
            Assert.Equal((address - Function) % 0x20 < 0x10 && address >= Function && address < Function + 50 * 0x20, found);
            if (found)
                Assert.Equal(fromScan.Cfa, fromHeader.Cfa);
        }
    }

    [Fact]
    public void Row_cache_gives_the_same_rows_as_computing_them()
    {
        var builder = new CfiBuilder();
        int cie = builder.Cie();
        builder.Fde(cie, Section, Function, 0x100, Program(AdvanceLoc(1), DefCfaOffset(16), AdvanceLoc(7), DefCfaOffset(64)));
        var cached = UnwindTables.FromEhFrame(builder.Bytes, Section, rowCacheSize: 4);
        var uncached = UnwindTables.FromEhFrame(builder.Bytes, Section, rowCacheSize: 0);
        for (int pass = 0; pass < 3; pass++)
        {
            for (ulong address = Function - 2; address < Function + 0x102; address += 3)
            {
                Assert.Equal(uncached.TryFindRow(address, out var expected), cached.TryFindRow(address, out var row));
                Assert.Equal(expected.Cfa, row.Cfa);
            }
        }
    }
}
