namespace Profiler.Symbols.Unwinding;

/// <summary>The registers captured with a stack sample. rip, rsp and rbp are always needed; the other
/// callee-saved registers only help when some frame's CFA is computed from one of them (stack
/// realignment), so capturing them is optional.</summary>
public readonly record struct UnwindRegisters(ulong Rip, ulong Rsp, ulong Rbp)
{
    public bool HasCalleeSaved { get; init; }
    public ulong Rbx { get; init; }
    public ulong R12 { get; init; }
    public ulong R13 { get; init; }
    public ulong R14 { get; init; }
    public ulong R15 { get; init; }

    public UnwindRegisters WithCalleeSaved(ulong rbx, ulong r12, ulong r13, ulong r14, ulong r15) =>
        this with { HasCalleeSaved = true, Rbx = rbx, R12 = r12, R13 = r13, R14 = r14, R15 = r15 };

    internal RegisterSet ToRegisterSet()
    {
        var set = new RegisterSet();
        set.Set(DwarfRegister.Rsp, Rsp);
        set.Set(DwarfRegister.Rbp, Rbp);
        if (HasCalleeSaved)
        {
            set.Set(DwarfRegister.Rbx, Rbx);
            set.Set(DwarfRegister.R12, R12);
            set.Set(DwarfRegister.R13, R13);
            set.Set(DwarfRegister.R14, R14);
            set.Set(DwarfRegister.R15, R15);
        }
        return set;
    }
}
