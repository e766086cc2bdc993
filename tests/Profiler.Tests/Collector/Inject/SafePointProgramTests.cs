using System.Buffers.Binary;
using Profiler.Collectors.Linux.Inject;

namespace Profiler.Tests.Collector.Inject;

/// <summary>The hand-assembled program's shape. That the kernel accepts it and that it signals
/// exactly one watched thread per opening is proven by the loader's integration tests.</summary>
public sealed class SafePointProgramTests
{
    static (byte Op, int Dst, int Src, short Off, int Imm)[] Decode(byte[] code) =>
        Enumerable.Range(0, code.Length / 8).Select(i => (code[i * 8], code[i * 8 + 1] & 0xf, code[i * 8 + 1] >> 4,
            BinaryPrimitives.ReadInt16LittleEndian(code.AsSpan(i * 8 + 2)), BinaryPrimitives.ReadInt32LittleEndian(code.AsSpan(i * 8 + 4)))).ToArray();

    [Fact]
    public void Every_jump_lands_on_the_exit_and_the_maps_are_the_given_fds()
    {
        var insns = Decode(SafePointProgram.Assemble(threadsMap: 7, gateMap: 9));
        Assert.Equal(21, insns.Length);
        Assert.Equal(0x95, insns[^1].Op);
        Assert.Equal((0xb7, 0, 0), (insns[^2].Op, insns[^2].Dst, insns[^2].Imm));
        var jumps = insns.Select((insn, at) => (insn, at)).Where(x => x.insn.Op is 0x15 or 0x16).ToList();
        Assert.Equal(3, jumps.Count);
        Assert.All(jumps, j => Assert.Equal(insns.Length - 2, j.at + 1 + j.insn.Off));
        Assert.Equal([7, 9], insns.Where(i => i.Op == 0x18).Select(i => i.Imm));
        Assert.All(insns.Where(i => i.Op == 0x18), i => Assert.Equal(1, i.Src)); // BPF_PSEUDO_MAP_FD
        // Helpers in order: pid_tgid, lookup (threads), lookup (gate), send_signal_thread.
        Assert.Equal([14, 1, 1, 117], insns.Where(i => i.Op == 0x85).Select(i => i.Imm));
        // The gate is taken with an atomic exchange: one signal per opening, whatever races.
        Assert.Contains(insns, i => i.Op == 0xc3 && i.Imm == 0xe1);
    }
}
