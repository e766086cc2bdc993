namespace Profiler.Symbols.Unwinding;

/// <summary>How to find a register's value in the caller's frame (DWARF 5 §6.4.1).</summary>
public enum RegisterRuleKind : byte
{
    /// <summary>No instruction named the register: callee-saved registers keep their value, rsp
    /// becomes the CFA, and caller-saved registers are unknown.</summary>
    Unspecified,
    /// <summary>The caller's value cannot be recovered; for the return address, the outermost frame.</summary>
    Undefined,
    SameValue,
    /// <summary>Saved at CFA + <see cref="RegisterRule.Value"/>.</summary>
    Offset,
    /// <summary>The value is CFA + <see cref="RegisterRule.Value"/>.</summary>
    ValueOffset,
    /// <summary>The value is in register <see cref="RegisterRule.Register"/> of this frame.</summary>
    Register,
    /// <summary>Saved at the address the DWARF expression computes (the CFA pushed first).</summary>
    Expression,
    /// <summary>The value is what the DWARF expression computes (the CFA pushed first).</summary>
    ValueExpression,
}

/// <summary>One register's rule in an unwind row. For expressions <see cref="Value"/> is the position
/// in the CFI section of the expression's ULEB128 length, so a row stays small and copyable.</summary>
public readonly record struct RegisterRule(RegisterRuleKind Kind, byte Register, int Value)
{
    public static RegisterRule Offset(int offset) => new(RegisterRuleKind.Offset, 0, offset);
}

public enum CfaRuleKind : byte
{
    /// <summary>No DW_CFA_def_cfa yet: the row cannot be used.</summary>
    Undefined,
    /// <summary>CFA = register <see cref="CfaRule.Register"/> + <see cref="CfaRule.Offset"/>.</summary>
    RegisterOffset,
    /// <summary>CFA = value of the DWARF expression at section position <see cref="CfaRule.Offset"/>.</summary>
    Expression,
}

/// <summary>How to compute the canonical frame address: the value of rsp in the caller just before
/// the call instruction (so the return address sits at CFA - 8).</summary>
public readonly record struct CfaRule(CfaRuleKind Kind, byte Register, int Offset);
