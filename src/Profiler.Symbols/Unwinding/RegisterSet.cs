using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Profiler.Symbols.Unwinding;

/// <summary>Values of the 17 x86-64 DWARF registers in one frame, with which of them are known.</summary>
public struct RegisterSet
{
    [InlineArray(DwarfRegister.Count)]
    private struct Values
    {
        private ulong _first;
    }

    private Values _values;
    private uint _known;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool TryGet(int register, out ulong value)
    {
        if ((uint)register < DwarfRegister.Count && (_known & (1u << register)) != 0)
        {
            value = _values[register];
            return true;
        }
        value = 0;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(int register, ulong value)
    {
        if ((uint)register >= DwarfRegister.Count)
            return;
        _values[register] = value;
        _known |= 1u << register;
    }

    /// <summary>This frame's registers as a caller inherits them before any rule applies: the ones in
    /// <paramref name="mask"/> keep their values, all others become unknown.</summary>
    internal readonly RegisterSet Inherit(uint mask)
    {
        var inherited = this;
        inherited._known &= mask;
        return inherited;
    }

    public void Forget(int register)
    {
        if ((uint)register < DwarfRegister.Count)
            _known &= ~(1u << register);
    }
}

/// <summary>The copied top of a thread's stack: <see cref="Bytes"/> were at <see cref="Address"/>.
/// Every read outside the copy fails rather than guessing.</summary>
public readonly ref struct StackMemory(ReadOnlySpan<byte> bytes, ulong address)
{
    public ReadOnlySpan<byte> Bytes { get; } = bytes;

    public ulong Address { get; } = address;

    public bool Contains(ulong address, int size) =>
        address >= Address && address - Address <= (ulong)Bytes.Length && (ulong)Bytes.Length - (address - Address) >= (ulong)size;

    public bool TryRead(ulong address, out ulong value)
    {
        if (!Contains(address, 8))
        {
            value = 0;
            return false;
        }
        value = BinaryPrimitives.ReadUInt64LittleEndian(Bytes[(int)(address - Address)..]);
        return true;
    }

    /// <summary>Reads a little-endian value of 1 to 8 bytes, zero-extended.</summary>
    public bool TryRead(ulong address, int size, out ulong value)
    {
        value = 0;
        if (size is < 1 or > 8 || !Contains(address, size))
            return false;
        var bytes = Bytes.Slice((int)(address - Address), size);
        for (int i = size - 1; i >= 0; i--)
            value = value << 8 | bytes[i];
        return true;
    }
}
