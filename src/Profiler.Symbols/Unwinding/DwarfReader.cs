using System.Buffers.Binary;
using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Unwinding;

/// <summary>A bounds-checked little-endian cursor over DWARF bytes. Every read past the end throws
/// <see cref="CfiFormatException"/>, so callers can decode without checking each field.</summary>
internal ref struct DwarfReader
{
    private readonly ReadOnlySpan<byte> _data;

    public DwarfReader(ReadOnlySpan<byte> data, int position = 0)
    {
        _data = data;
        Position = position;
    }

    public int Position { get; set; }

    public readonly int Length => _data.Length;

    public readonly bool AtEnd => Position >= _data.Length;

    public byte U8()
    {
        if ((uint)Position >= (uint)_data.Length)
            throw Overrun(1);
        return _data[Position++];
    }

    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public ulong Uleb()
    {
        if ((uint)Position > (uint)_data.Length)
            throw Overrun(1);
        int length = Leb128.ReadUnsigned(_data[Position..], out ulong value);
        if (length < 0)
        {
            Position = _data.Length;
            throw Overrun(1);
        }
        Position += length;
        return value;
    }

    public long Sleb()
    {
        if ((uint)Position > (uint)_data.Length)
            throw Overrun(1);
        int length = Leb128.ReadSigned(_data[Position..], out long value);
        if (length < 0)
        {
            Position = _data.Length;
            throw Overrun(1);
        }
        Position += length;
        return value;
    }

    /// <summary>A ULEB128 that must fit an int, as lengths and register numbers do.</summary>
    public int UlebInt()
    {
        ulong value = Uleb();
        return value <= int.MaxValue ? (int)value : throw new CfiFormatException($"value 0x{value:x} is out of range");
    }

    public ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > _data.Length - Position)
            throw Overrun(count);
        var slice = _data.Slice(Position, count);
        Position += count;
        return slice;
    }

    public void Skip(int count) => Take(count);

    /// <summary>A NUL-terminated byte string (augmentation strings are ASCII).</summary>
    public ReadOnlySpan<byte> CString()
    {
        int end = Position <= _data.Length ? _data[Position..].IndexOf((byte)0) : -1;
        if (end < 0)
            throw new CfiFormatException("unterminated string");
        var text = _data.Slice(Position, end);
        Position += end + 1;
        return text;
    }

    private readonly CfiFormatException Overrun(int count) =>
        new($"{count} byte(s) needed at offset 0x{Position:x}, past the end (0x{_data.Length:x})");
}
