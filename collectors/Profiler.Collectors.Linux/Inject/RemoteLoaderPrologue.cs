using Iced.Intel;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Where a thread stands when the safe point's probe stops it. A uprobe's signal is
/// delivered once the probed instruction has run (stepped out of line or emulated), so the
/// thread stops one instruction into the allocator: still before any lock, but with that
/// instruction's effect on the stack pointer to undo to find the caller's return address.</summary>
public static class RemoteLoaderPrologue
{
    /// <summary>The first instruction's length and how far it moved the stack pointer down, or
    /// null when it goes elsewhere (a jump, a call) or moves the stack pointer in a way not followed.</summary>
    public static (int Length, ulong StackDrop)? FirstStep(byte[] code)
    {
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(code));
        decoder.Decode(out var instruction);
        if (instruction.IsInvalid || instruction.Length == 0 || instruction.FlowControl != FlowControl.Next) return null;
        if (instruction.Op0Kind == OpKind.Register && instruction.Op0Register == Register.RSP)
            return instruction.Mnemonic == Mnemonic.Sub && instruction.Op1Kind is OpKind.Immediate8to64 or OpKind.Immediate32to64
                ? (instruction.Length, (ulong)instruction.Immediate64)
                : null;
        return instruction.StackPointerIncrement <= 0 ? (instruction.Length, (ulong)-instruction.StackPointerIncrement) : null;
    }
}
