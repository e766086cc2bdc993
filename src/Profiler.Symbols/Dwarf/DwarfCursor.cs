using System.Buffers.Binary;
using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Dwarf;

/// <summary>A bounds-checked little-endian cursor over DWARF bytes: a .debug_* section, call frame
/// information (.eh_frame, .debug_frame) or a DWARF expression. Every read past the end throws
/// <see cref="DwarfFormatException"/>, so decoders need not check each field. A ref struct over a
/// span: the unwinder reads call frame information with it for every sample, without allocating.</summary>
internal ref struct DwarfCursor
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public DwarfCursor(ReadOnlySpan<byte> data, ulong position = 0)
    {
        _data = data;
        Position = position;
    }

    public ulong Position
    {
        readonly get => (ulong)_position;
        set
        {
            if (value > (ulong)_data.Length)
                throw new DwarfFormatException($"offset 0x{value:x} lies past the end of the section (0x{_data.Length:x} bytes)");
            _position = (int)value;
        }
    }

    public readonly int Length => _data.Length;

    public readonly bool AtEnd => _position >= _data.Length;

    public byte U8()
    {
        if ((uint)_position >= (uint)_data.Length)
            throw Overrun(1);
        return _data[_position++];
    }

    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint U24()
    {
        var bytes = Take(3);
        return bytes[0] | (uint)bytes[1] << 8 | (uint)bytes[2] << 16;
    }

    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public sbyte S8() => (sbyte)U8();

    /// <summary>A section offset: 4 bytes in 32-bit DWARF, 8 in 64-bit DWARF.</summary>
    public ulong Offset(bool is64) => is64 ? U64() : U32();

    public ulong Address(int size) => size switch
    {
        8 => U64(),
        4 => U32(),
        2 => U16(),
        1 => U8(),
        _ => throw new DwarfFormatException($"address size {size} is not supported"),
    };

    /// <summary>A fixed-size unsigned value of <paramref name="size"/> bytes (1, 2, 3, 4 or 8).</summary>
    public ulong Unsigned(int size) => size == 3 ? U24() : Address(size);

    public ulong Uleb()
    {
        if ((uint)_position > (uint)_data.Length)
            throw Overrun(1);
        int length = Leb128.ReadUnsigned(_data[_position..], out ulong value);
        if (length < 0)
        {
            _position = _data.Length;
            throw Overrun(1);
        }
        _position += length;
        return value;
    }

    public long Sleb()
    {
        if ((uint)_position > (uint)_data.Length)
            throw Overrun(1);
        int length = Leb128.ReadSigned(_data[_position..], out long value);
        if (length < 0)
        {
            _position = _data.Length;
            throw Overrun(1);
        }
        _position += length;
        return value;
    }

    /// <summary>A ULEB128 that must fit an int, as lengths and register numbers do.</summary>
    public int UlebInt()
    {
        ulong value = Uleb();
        return value <= int.MaxValue ? (int)value : throw new DwarfFormatException($"value 0x{value:x} is out of range");
    }

    /// <summary>The bytes up to the next NUL (which is consumed but not returned).</summary>
    public ReadOnlySpan<byte> CString()
    {
        var rest = _data[_position..];
        int end = rest.IndexOf((byte)0);
        if (end < 0)
            throw new DwarfFormatException($"string at offset 0x{_position:x} has no terminating NUL");
        _position += end + 1;
        return rest[..end];
    }

    public void Skip(ulong count) => Take(count);

    public ReadOnlySpan<byte> Take(ulong count)
    {
        if (count > (ulong)(_data.Length - _position))
            throw Overrun(count);
        var bytes = _data.Slice(_position, (int)count);
        _position += (int)count;
        return bytes;
    }

    private readonly DwarfFormatException Overrun(ulong wanted) =>
        new($"reading 0x{wanted:x} bytes at offset 0x{_position:x} runs past the end of the section (0x{_data.Length:x} bytes)");
}
