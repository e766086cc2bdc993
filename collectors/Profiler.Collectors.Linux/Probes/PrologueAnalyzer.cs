using Iced.Intel;

namespace Profiler.Collectors.Linux.Probes;

/// <summary>Where to put a probe in a function and where the caller's return address is then.</summary>
/// <param name="Offset">Bytes from the function start.</param>
/// <param name="ReturnAddressSpOffset">Bytes from %rsp to the return address at that instruction.</param>
/// <param name="Emulated">False when no cheap instruction was found and the probe sits at +0, where
/// the kernel may have to single-step it (about 10 µs per hit instead of under 1 µs).</param>
public sealed record ProbePoint(int Offset, int ReturnAddressSpOffset, bool Emulated, string Instruction);

/// <summary>
/// Picks a probe offset from a function's first instructions. The kernel emulates push, nop and
/// relative jumps/calls (well under a microsecond per hit) but single-steps everything else out
/// of line (~10 µs on a VM). The chosen instruction is the first emulated one that every call
/// reaches, with no earlier instruction writing an argument register the probe reads.
/// </summary>
public static class PrologueAnalyzer
{
    const int MaxInstructions = 12;

    /// <param name="returnProbe">A return probe hijacks the word at %rsp, so it must sit where that
    /// word is still the return address.</param>
    public static ProbePoint Choose(ReadOnlySpan<byte> code, int argumentCount, bool returnProbe)
    {
        var watched = ArgumentRegisters.Take(argumentCount).ToArray();
        var decoder = Decoder.Create(64, code.ToArray(), DecoderOptions.None);
        var info = new InstructionInfoFactory();
        int spOffset = 0;
        for (int n = 0; n < MaxInstructions && decoder.IP < (ulong)code.Length; n++)
        {
            var insn = decoder.Decode();
            if (insn.IsInvalid || insn.Length == 0) break;
            if (IsEmulated(insn))
                return returnProbe && spOffset != 0 ? Entry : new ProbePoint((int)insn.IP, spOffset, true, insn.ToString());
            // Anything that can leave the straight line ends the search: later instructions
            // are not reached by every call.
            if (insn.FlowControl != FlowControl.Next) break;
            bool clobbers = false;
            foreach (var used in info.GetInfo(insn).GetUsedRegisters())
            {
                if (used.Access is OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite
                    && (watched.Contains(used.Register.GetFullRegister()) || used.Register.GetFullRegister() == Register.RSP))
                {
                    if (used.Register.GetFullRegister() == Register.RSP && TryStackAdjust(insn, out int delta))
                        spOffset += delta;
                    else
                        clobbers = true;
                }
            }
            if (clobbers) break;
        }
        return Entry;
    }

    static readonly ProbePoint Entry = new(0, 0, false, "entry");

    static readonly Register[] ArgumentRegisters = [Register.RDI, Register.RSI, Register.RDX, Register.RCX, Register.R8, Register.R9];

    static bool IsEmulated(in Instruction insn) => insn.Mnemonic switch
    {
        Mnemonic.Push => insn.Op0Kind == OpKind.Register && insn.Op0Register.GetSize() == 8,
        Mnemonic.Nop => true,
        Mnemonic.Jmp or Mnemonic.Call => insn.Op0Kind is OpKind.NearBranch64,
        _ => insn.FlowControl == FlowControl.ConditionalBranch && insn.Op0Kind == OpKind.NearBranch64
             && insn.Mnemonic is not (Mnemonic.Loop or Mnemonic.Loope or Mnemonic.Loopne or Mnemonic.Jrcxz or Mnemonic.Jecxz),
    };

    /// <summary>sub/add rsp, imm moves the return address relative to rsp by a known amount.</summary>
    static bool TryStackAdjust(in Instruction insn, out int delta)
    {
        delta = 0;
        if (insn.Op0Kind != OpKind.Register || insn.Op0Register != Register.RSP) return false;
        if (insn.Op1Kind is not (OpKind.Immediate8to64 or OpKind.Immediate32to64 or OpKind.Immediate8 or OpKind.Immediate32)) return false;
        long imm = (long)insn.GetImmediate(1);
        delta = insn.Mnemonic switch { Mnemonic.Sub => (int)imm, Mnemonic.Add => -(int)imm, _ => int.MinValue };
        return delta != int.MinValue;
    }
}
