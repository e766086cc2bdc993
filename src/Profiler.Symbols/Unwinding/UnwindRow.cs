using System.Runtime.CompilerServices;

namespace Profiler.Symbols.Unwinding;

[InlineArray(DwarfRegister.Count)]
internal struct RegisterRules
{
    private RegisterRule _first;
}

/// <summary>The unwind rules in force at one pc: the CFA rule and one rule per register. A plain
/// value (about 150 bytes) so rows can be cached and copied without allocation.</summary>
public struct UnwindRow
{
    private RegisterRules _rules;

    public CfaRule Cfa { get; internal set; }

    /// <summary>The CIE's "S" augmentation: this is a signal trampoline, so the pc it unwinds to is
    /// the interrupted instruction itself, not a return address.</summary>
    public bool IsSignalFrame { get; internal set; }

    /// <summary>Which section the rules' expression positions refer to.</summary>
    public CfiSectionKind Section { get; internal set; }

    /// <summary>Start address of the FDE the row came from (link-time address).</summary>
    public ulong FunctionStart { get; internal set; }

    public readonly RegisterRule this[int register] =>
        (uint)register < DwarfRegister.Count ? _rules[register] : default;

    public readonly RegisterRule ReturnAddress => _rules[DwarfRegister.ReturnAddress];

    /// <summary>Bit n set: register n has a rule other than <see cref="RegisterRuleKind.Unspecified"/>.
    /// Lets the unwinder visit only the registers a row mentions.</summary>
    internal uint SpecifiedMask { get; private set; }

    internal void Set(int register, RegisterRule rule)
    {
        if ((uint)register >= DwarfRegister.Count)
            return;
        _rules[register] = rule;
        if (rule.Kind == RegisterRuleKind.Unspecified)
            SpecifiedMask &= ~(1u << register);
        else
            SpecifiedMask |= 1u << register;
    }

    internal readonly RegisterRule Get(int register) => _rules[register];

    /// <summary>A row computed without call frame information: CFA = <paramref name="cfaRegister"/> +
    /// <paramref name="cfaOffset"/>, the return address just below it, and optionally rbp saved below that
    /// (the frame-pointer convention).</summary>
    internal static UnwindRow Synthetic(int cfaRegister, int cfaOffset, bool savedFramePointer)
    {
        var row = new UnwindRow { Cfa = new CfaRule(CfaRuleKind.RegisterOffset, (byte)cfaRegister, cfaOffset) };
        row.Set(DwarfRegister.ReturnAddress, RegisterRule.Offset(-8));
        if (savedFramePointer)
            row.Set(DwarfRegister.Rbp, RegisterRule.Offset(-16));
        return row;
    }
}

public enum CfiSectionKind : byte
{
    EhFrame,
    DebugFrame,
}
