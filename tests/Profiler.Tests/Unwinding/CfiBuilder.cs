using System.Buffers.Binary;

namespace Profiler.Tests.Unwinding;

/// <summary>Writes .eh_frame / .debug_frame bytes by hand: CIEs and FDEs laid out as DWARF 5 §6.4.1
/// and the LSB's .eh_frame description say, so tests control every field.</summary>
public sealed class CfiBuilder(bool debugFrame = false, bool dwarf64 = false)
{
    private readonly List<byte> _bytes = [];

    public byte[] Bytes => [.. _bytes];

    public int Length => _bytes.Count;

    /// <summary>Appends a CIE; returns its offset.</summary>
    public int Cie(string augmentation = "zR", byte version = 1, ulong codeAlignment = 1, long dataAlignment = -8,
        ulong returnAddress = 16, byte[]? augmentationData = null, byte[]? instructions = null,
        byte addressSize = 8, byte segmentSize = 0)
    {
        var body = new List<byte>();
        body.AddRange(IdBytes(debugFrame ? (dwarf64 ? ulong.MaxValue : 0xffffffff) : 0));
        body.Add(version);
        body.AddRange(System.Text.Encoding.ASCII.GetBytes(augmentation));
        body.Add(0);
        if (version >= 4)
        {
            body.Add(addressSize);
            body.Add(segmentSize);
        }
        body.AddRange(Uleb(codeAlignment));
        body.AddRange(Sleb(dataAlignment));
        if (version == 1)
            body.Add((byte)returnAddress);
        else
            body.AddRange(Uleb(returnAddress));
        if (augmentation.StartsWith('z'))
        {
            var data = augmentationData ?? [0x1b]; // "R": pc-relative sdata4
            body.AddRange(Uleb((ulong)data.Length));
            body.AddRange(data);
        }
        body.AddRange(instructions ?? Cfa.Program(Cfa.DefCfa(7, 8), Cfa.Offset(16, 1)));
        return Entry(body);
    }

    /// <summary>Appends an FDE for [start, start + length) in a section loaded at
    /// <paramref name="sectionAddress"/>: pc-relative sdata4 in .eh_frame, 8-byte absolute in
    /// .debug_frame (or as <paramref name="pointerSize"/> says).</summary>
    public int Fde(int cie, ulong sectionAddress, ulong start, ulong length, byte[] instructions,
        byte[]? augmentationData = null, bool zAugmentation = true, int pointerSize = 0)
    {
        int offset = _bytes.Count;
        int header = dwarf64 ? 12 : 4;
        var body = new List<byte>();
        if (debugFrame)
            body.AddRange(IdBytes((ulong)cie));
        else
            body.AddRange(IdBytes((ulong)(offset + header - cie)));
        if (debugFrame || pointerSize == 8)
        {
            int size = pointerSize == 0 ? 8 : pointerSize;
            body.AddRange(Fixed(start, size));
            body.AddRange(Fixed(length, size));
        }
        else
        {
            ulong field = sectionAddress + (ulong)(offset + header + body.Count);
            body.AddRange(Fixed(start - field, 4));
            body.AddRange(Fixed(length, 4));
        }
        if (!debugFrame && zAugmentation)
        {
            var data = augmentationData ?? [];
            body.AddRange(Uleb((ulong)data.Length));
            body.AddRange(data);
        }
        body.AddRange(instructions);
        return Entry(body);
    }

    public void Terminator() => _bytes.AddRange(new byte[4]);

    /// <summary>An .eh_frame_hdr (version 1, datarel sdata4 table) for FDEs of this .eh_frame.</summary>
    public static byte[] Header(ulong headerAddress, ulong ehFrameAddress, IReadOnlyList<(ulong Start, int FdeOffset)> fdes)
    {
        var bytes = new List<byte> { 1, 0x1b, 0x03, 0x3b };
        bytes.AddRange(Fixed(ehFrameAddress - (headerAddress + 4), 4));
        bytes.AddRange(Fixed((ulong)fdes.Count, 4));
        foreach (var (start, fdeOffset) in fdes.OrderBy(f => f.Start))
        {
            bytes.AddRange(Fixed(start - headerAddress, 4));
            bytes.AddRange(Fixed(ehFrameAddress + (ulong)fdeOffset - headerAddress, 4));
        }
        return [.. bytes];
    }

    private int Entry(List<byte> body)
    {
        int offset = _bytes.Count;
        while ((body.Count + (dwarf64 ? 12 : 4)) % 8 != 0)
            body.Add(0); // DW_CFA_nop padding
        if (dwarf64)
        {
            _bytes.AddRange(Fixed(0xffffffff, 4));
            _bytes.AddRange(Fixed((ulong)body.Count, 8));
        }
        else
        {
            _bytes.AddRange(Fixed((ulong)body.Count, 4));
        }
        _bytes.AddRange(body);
        return offset;
    }

    private byte[] IdBytes(ulong value) => Fixed(value, dwarf64 ? 8 : 4);

    public static byte[] Fixed(ulong value, int size)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return bytes[..size];
    }

    public static byte[] Uleb(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(value & 0x7f);
            value >>= 7;
            bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        } while (value != 0);
        return [.. bytes];
    }

    public static byte[] Sleb(long value)
    {
        var bytes = new List<byte>();
        while (true)
        {
            byte b = (byte)(value & 0x7f);
            value >>= 7;
            bool done = (value == 0 && (b & 0x40) == 0) || (value == -1 && (b & 0x40) != 0);
            bytes.Add(done ? b : (byte)(b | 0x80));
            if (done)
                return [.. bytes];
        }
    }
}

/// <summary>DW_CFA_* and DW_OP_* encoders, named as in the DWARF standard.</summary>
public static class Cfa
{
    public static byte[] Program(params byte[][] instructions) => [.. instructions.SelectMany(i => i)];

    public static byte[] AdvanceLoc(int delta) => [(byte)(0x40 | delta)];
    public static byte[] AdvanceLoc1(byte delta) => [0x02, delta];
    public static byte[] AdvanceLoc2(ushort delta) => [0x03, (byte)delta, (byte)(delta >> 8)];
    public static byte[] AdvanceLoc4(uint delta) => [0x04, .. CfiBuilder.Fixed(delta, 4)];
    public static byte[] SetLoc(ulong address, int size = 8) => [0x01, .. CfiBuilder.Fixed(address, size)];
    public static byte[] Offset(int register, ulong factored) => [(byte)(0x80 | register), .. CfiBuilder.Uleb(factored)];
    public static byte[] Restore(int register) => [(byte)(0xc0 | register)];
    public static byte[] OffsetExtended(int register, ulong factored) => [0x05, .. CfiBuilder.Uleb((ulong)register), .. CfiBuilder.Uleb(factored)];
    public static byte[] RestoreExtended(int register) => [0x06, .. CfiBuilder.Uleb((ulong)register)];
    public static byte[] Undefined(int register) => [0x07, .. CfiBuilder.Uleb((ulong)register)];
    public static byte[] SameValue(int register) => [0x08, .. CfiBuilder.Uleb((ulong)register)];
    public static byte[] Register(int register, int from) => [0x09, .. CfiBuilder.Uleb((ulong)register), .. CfiBuilder.Uleb((ulong)from)];
    public static byte[] RememberState() => [0x0a];
    public static byte[] RestoreState() => [0x0b];
    public static byte[] DefCfa(int register, ulong offset) => [0x0c, .. CfiBuilder.Uleb((ulong)register), .. CfiBuilder.Uleb(offset)];
    public static byte[] DefCfaRegister(int register) => [0x0d, .. CfiBuilder.Uleb((ulong)register)];
    public static byte[] DefCfaOffset(ulong offset) => [0x0e, .. CfiBuilder.Uleb(offset)];
    public static byte[] DefCfaExpression(byte[] expression) => [0x0f, .. CfiBuilder.Uleb((ulong)expression.Length), .. expression];
    public static byte[] Expression(int register, byte[] expression) =>
        [0x10, .. CfiBuilder.Uleb((ulong)register), .. CfiBuilder.Uleb((ulong)expression.Length), .. expression];
    public static byte[] OffsetExtendedSf(int register, long factored) => [0x11, .. CfiBuilder.Uleb((ulong)register), .. CfiBuilder.Sleb(factored)];
    public static byte[] DefCfaSf(int register, long factored) => [0x12, .. CfiBuilder.Uleb((ulong)register), .. CfiBuilder.Sleb(factored)];
    public static byte[] DefCfaOffsetSf(long factored) => [0x13, .. CfiBuilder.Sleb(factored)];
    public static byte[] ValOffset(int register, ulong factored) => [0x14, .. CfiBuilder.Uleb((ulong)register), .. CfiBuilder.Uleb(factored)];
    public static byte[] ValOffsetSf(int register, long factored) => [0x15, .. CfiBuilder.Uleb((ulong)register), .. CfiBuilder.Sleb(factored)];
    public static byte[] ValExpression(int register, byte[] expression) =>
        [0x16, .. CfiBuilder.Uleb((ulong)register), .. CfiBuilder.Uleb((ulong)expression.Length), .. expression];
    public static byte[] GnuArgsSize(ulong size) => [0x2e, .. CfiBuilder.Uleb(size)];
    public static byte[] GnuNegativeOffsetExtended(int register, ulong factored) => [0x2f, .. CfiBuilder.Uleb((ulong)register), .. CfiBuilder.Uleb(factored)];

    // DWARF expression operations
    public static byte[] Breg(int register, long offset) => [(byte)(0x70 + register), .. CfiBuilder.Sleb(offset)];
    public static byte[] Bregx(int register, long offset) => [0x92, .. CfiBuilder.Uleb((ulong)register), .. CfiBuilder.Sleb(offset)];
    public static byte[] Lit(int value) => [(byte)(0x30 + value)];
    public static byte[] Constu(ulong value) => [0x10, .. CfiBuilder.Uleb(value)];
    public static byte[] Consts(long value) => [0x11, .. CfiBuilder.Sleb(value)];
    public static byte[] PlusUconst(ulong value) => [0x23, .. CfiBuilder.Uleb(value)];
    public static byte[] Skip(short delta) => [0x2f, (byte)delta, (byte)(delta >> 8)];
    public static byte[] Bra(short delta) => [0x28, (byte)delta, (byte)(delta >> 8)];
    public static byte[] DerefSize(byte size) => [0x94, size];
    public static byte[] Pick(byte index) => [0x15, index];
    public const byte Deref = 0x06, Dup = 0x12, Drop = 0x13, Over = 0x14, Swap = 0x16, Rot = 0x17, Abs = 0x19, And = 0x1a,
        Div = 0x1b, Minus = 0x1c, Mod = 0x1d, Mul = 0x1e, Neg = 0x1f, Not = 0x20, Or = 0x21, Plus = 0x22, Shl = 0x24,
        Shr = 0x25, Shra = 0x26, Xor = 0x27, Eq = 0x29, Ge = 0x2a, Gt = 0x2b, Le = 0x2c, Lt = 0x2d, Ne = 0x2e,
        CallFrameCfa = 0x9c, Nop = 0x96, Addr = 0x03;
}
