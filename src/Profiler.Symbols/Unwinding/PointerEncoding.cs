using Profiler.Symbols.Dwarf;

namespace Profiler.Symbols.Unwinding;

/// <summary>The DW_EH_PE_* pointer encodings of .eh_frame and .eh_frame_hdr: the low nibble says
/// how the value is stored, bits 4–6 what it is relative to, bit 7 that it points at the pointer.</summary>
internal static class PointerEncoding
{
    public const byte Omit = 0xff;
    public const byte Absolute = 0x00;
    public const byte Uleb128 = 0x01;
    public const byte Udata2 = 0x02;
    public const byte Udata4 = 0x03;
    public const byte Udata8 = 0x04;
    public const byte Sleb128 = 0x09;
    public const byte Sdata2 = 0x0a;
    public const byte Sdata4 = 0x0b;
    public const byte Sdata8 = 0x0c;

    public const byte PcRelative = 0x10;
    public const byte TextRelative = 0x20;
    public const byte DataRelative = 0x30;
    public const byte FunctionRelative = 0x40;
    public const byte Aligned = 0x50;
    public const byte Indirect = 0x80;

    /// <summary>The table encoding of every .eh_frame_hdr written by GNU ld, gold, lld and mold:
    /// signed 32-bit offsets from the start of .eh_frame_hdr.</summary>
    public const byte DataRelativeSdata4 = DataRelative | Sdata4;

    /// <summary>Reads one encoded pointer at the reader's position. <paramref name="positionAddress"/>
    /// is the link-time address of the reader's byte 0 (for pc-relative values). An indirect pointer
    /// is returned as the address of the pointer: the unwinder never needs the pointed-to value
    /// (personality routines), and the file's copy of it would be unrelocated anyway.</summary>
    public static ulong Read(ref DwarfCursor reader, byte encoding, ulong positionAddress, in PointerBases bases)
    {
        if (encoding == Omit)
            return 0;
        ulong fieldAddress = positionAddress + reader.Position;
        if ((encoding & 0x70) == Aligned)
        {
            int misalignment = (int)(reader.Position & 7);
            if (misalignment != 0)
                reader.Skip((ulong)(8 - misalignment));
            fieldAddress = positionAddress + reader.Position;
        }
        ulong value = (encoding & 0x0f) switch
        {
            Absolute or Udata8 or Sdata8 => reader.U64(),
            Uleb128 => reader.Uleb(),
            Udata2 => reader.U16(),
            Udata4 => reader.U32(),
            Sleb128 => (ulong)reader.Sleb(),
            Sdata2 => (ulong)(long)(short)reader.U16(),
            Sdata4 => (ulong)(long)(int)reader.U32(),
            _ => throw new DwarfFormatException($"unknown pointer format 0x{encoding:x2}"),
        };
        ulong bias = (encoding & 0x70) switch
        {
            Absolute or Aligned => 0,
            PcRelative => fieldAddress,
            TextRelative => bases.Text,
            DataRelative => bases.Data,
            FunctionRelative => bases.Function,
            _ => throw new DwarfFormatException($"unknown pointer application 0x{encoding:x2}"),
        };
        return unchecked(value + bias);
    }

    /// <summary>Size in bytes of a fixed-size encoding, or 0 for LEB128 and unknown formats.</summary>
    public static int FixedSize(byte encoding) => (encoding & 0x0f) switch
    {
        Absolute or Udata8 or Sdata8 => 8,
        Udata4 or Sdata4 => 4,
        Udata2 or Sdata2 => 2,
        _ => 0,
    };
}

/// <summary>What text-, data- and function-relative pointers are relative to.</summary>
internal readonly record struct PointerBases(ulong Text, ulong Data, ulong Function = 0);
