using System.Buffers.Binary;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>The BPF program that marks a safe point: on a uprobe at an allocator's entry, for a
/// thread in the <c>threads</c> map only, it takes the gate (an array word holding the marker
/// signal, swapped to 0 atomically: one signal per opening) and sends that signal to the thread.
/// Twenty instructions assembled here rather than compiled, so the loader needs no BPF object.</summary>
public static class SafePointProgram
{
    const int HelperMapLookup = 1, HelperPidTgid = 14, HelperSendSignalThread = 117;
    const byte R0 = 0, R1 = 1, R2 = 2, R10 = 10;
    const byte PseudoMapFd = 1;

    /// <summary>The program's instructions (struct bpf_insn, 8 bytes each) for the two maps' fds.</summary>
    public static byte[] Assemble(int threadsMap, int gateMap)
    {
        var code = new List<byte[]>();
        void Op(byte opcode, byte dst, byte src, short off, int imm)
        {
            var insn = new byte[8];
            insn[0] = opcode;
            insn[1] = (byte)((src << 4) | dst);
            BinaryPrimitives.WriteInt16LittleEndian(insn.AsSpan(2), off);
            BinaryPrimitives.WriteInt32LittleEndian(insn.AsSpan(4), imm);
            code.Add(insn);
        }
        void LoadMap(byte dst, int fd)
        {
            Op(0x18, dst, PseudoMapFd, 0, fd); // ld_imm64 with a map fd
            Op(0, 0, 0, 0, 0);
        }
        const int exit = 19;
        short To(int index) => (short)(exit - index - 1);

        Op(0x85, 0, 0, 0, HelperPidTgid);      // 0: r0 = tgid << 32 | tid
        Op(0x63, R10, R0, -4, 0);              // 1: *(u32 *)(r10 - 4) = tid
        Op(0xbf, R2, R10, 0, 0);               // 2: r2 = r10
        Op(0x07, R2, 0, 0, -4);                // 3: r2 -= 4
        LoadMap(R1, threadsMap);               // 4-5
        Op(0x85, 0, 0, 0, HelperMapLookup);    // 6
        Op(0x15, R0, 0, To(7), 0);             // 7: not a watched thread
        Op(0x62, R10, 0, -8, 0);               // 8: *(u32 *)(r10 - 8) = 0
        Op(0xbf, R2, R10, 0, 0);               // 9
        Op(0x07, R2, 0, 0, -8);                // 10
        LoadMap(R1, gateMap);                  // 11-12
        Op(0x85, 0, 0, 0, HelperMapLookup);    // 13
        Op(0x15, R0, 0, To(14), 0);            // 14
        Op(0xb7, R1, 0, 0, 0);                 // 15: r1 = 0
        Op(0xc3, R0, R1, 0, 0xe1);             // 16: w1 = xchg(*(u32 *)r0, w1)
        Op(0x16, R1, 0, To(17), 0);            // 17: the gate was closed
        Op(0x85, 0, 0, 0, HelperSendSignalThread); // 18: signal number in r1
        Op(0xb7, R0, 0, 0, 0);                 // 19 (exit): r0 = 0
        Op(0x95, 0, 0, 0, 0);                  // 20: exit
        return [.. code.SelectMany(i => i)];
    }
}
