namespace Profiler.Symbols.Unwinding;

/// <summary>x86-64 DWARF register numbers (System V psABI, figure 3.36). Column 16 is the return
/// address: the caller's rip. Only these 17 are tracked; rules for vector registers are skipped.</summary>
public static class DwarfRegister
{
    public const int Rax = 0;
    public const int Rdx = 1;
    public const int Rcx = 2;
    public const int Rbx = 3;
    public const int Rsi = 4;
    public const int Rdi = 5;
    public const int Rbp = 6;
    public const int Rsp = 7;
    public const int R8 = 8;
    public const int R9 = 9;
    public const int R10 = 10;
    public const int R11 = 11;
    public const int R12 = 12;
    public const int R13 = 13;
    public const int R14 = 14;
    public const int R15 = 15;
    public const int ReturnAddress = 16;

    /// <summary>Number of tracked registers, 0 through <see cref="ReturnAddress"/>.</summary>
    public const int Count = 17;

    /// <summary>The registers a callee must preserve: with no rule they keep their value in the caller.
    /// The others are clobbered by calls, so without a rule their value in the caller is unknown.</summary>
    public const uint CalleeSavedMask = 1u << Rbx | 1u << Rbp | 1u << R12 | 1u << R13 | 1u << R14 | 1u << R15;
}
