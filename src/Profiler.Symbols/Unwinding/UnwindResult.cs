namespace Profiler.Symbols.Unwinding;

/// <summary>Why an unwind stopped. Only <see cref="Complete"/> means the whole stack was recovered.</summary>
public enum UnwindEnd : byte
{
    /// <summary>The outermost frame was reached: its return address is undefined in the CFI (as at
    /// _start and a thread's start routine), zero, or its CFA is zero; or, in a frame without CFI,
    /// rbp is zero (the psABI's end of a frame-pointer chain).</summary>
    Complete,
    /// <summary>A return address or saved register lies beyond the copied bytes of stack.</summary>
    StackExhausted,
    /// <summary>No CFI covers the pc and the frame pointer is not usable either.</summary>
    NoUnwindInfo,
    /// <summary>A return address is not inside any executable mapping (or the leaf pc is not).</summary>
    OutsideModules,
    /// <summary>The output span is full.</summary>
    FrameLimit,
    /// <summary>A return address was replaced by the uretprobe trampoline and its original is unknown.</summary>
    PendingReturnProbe,
    /// <summary>The CFA needs a register that was not captured (nor recovered from a callee).</summary>
    UnknownRegister,
    /// <summary>The frame makes no sense: the stack pointer does not move outward, or an expression fails.</summary>
    BadFrame,
}

/// <summary>How a frame's pc was found.</summary>
public enum FrameSource : byte
{
    /// <summary>The sampled rip.</summary>
    Registers,
    /// <summary>Call frame information of the callee.</summary>
    CallFrameInfo,
    /// <summary>The frame-pointer rule (CFA = rbp + 16), used where the callee has no CFI.</summary>
    FramePointer,
    /// <summary>The callee was a PLT stub without CFI, whose stack layout is fixed.</summary>
    PltStub,
}

/// <param name="FrameCount">PCs written, leaf first.</param>
/// <param name="FramePointerFrames">Frames whose pc came from the frame-pointer rule: less trustworthy.</param>
/// <param name="SubstitutedReturnAddresses">Uretprobe trampoline addresses replaced by the original.</param>
public readonly record struct UnwindResult(int FrameCount, UnwindEnd End, int FramePointerFrames, int SubstitutedReturnAddresses)
{
    public bool IsComplete => End == UnwindEnd.Complete;
}
