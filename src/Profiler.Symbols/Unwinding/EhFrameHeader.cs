using System.Buffers.Binary;
using Profiler.Symbols.Dwarf;

namespace Profiler.Symbols.Unwinding;

/// <summary>The binary search table of .eh_frame_hdr: (initial location, FDE address) pairs sorted by
/// location, written by the linker. Searching it in place means .eh_frame never has to be scanned.
/// Only the encoding every linker writes (datarel sdata4) is searched; others fall back to a scan.</summary>
internal sealed class EhFrameHeader
{
    private const int EntrySize = 8;
    private readonly byte[] _data;
    private readonly ulong _address;
    private readonly int _tableStart;

    private EhFrameHeader(byte[] data, ulong address, int tableStart, int count)
    {
        _data = data;
        _address = address;
        _tableStart = tableStart;
        Count = count;
    }

    public int Count { get; }

    /// <summary>Null when the header is absent, of an unknown version, has no table, or uses a table
    /// encoding other than datarel sdata4.</summary>
    public static EhFrameHeader? TryParse(byte[] data, ulong address)
    {
        try
        {
            var reader = new DwarfCursor(data);
            byte version = reader.U8();
            byte framePointerEncoding = reader.U8();
            byte countEncoding = reader.U8();
            byte tableEncoding = reader.U8();
            if (version != 1 || tableEncoding != PointerEncoding.DataRelativeSdata4 || countEncoding == PointerEncoding.Omit)
                return null;
            var bases = new PointerBases(Text: 0, Data: address);
            PointerEncoding.Read(ref reader, framePointerEncoding, address, bases);
            ulong count = PointerEncoding.Read(ref reader, countEncoding, address, bases);
            // A count larger than the bytes present is corrupt; search only the entries that exist.
            ulong present = ((ulong)data.Length - reader.Position) / EntrySize;
            return new EhFrameHeader(data, address, (int)reader.Position, (int)Math.Min(count, present));
        }
        catch (DwarfFormatException)
        {
            return null;
        }
    }

    /// <summary>The link-time address of the FDE whose range starts at or before
    /// <paramref name="address"/> (the caller checks that it also ends after it).</summary>
    public bool TryFind(ulong address, out ulong fdeAddress)
    {
        var table = _data.AsSpan(_tableStart, Count * EntrySize);
        int lo = 0, hi = Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            ulong start = _address + (ulong)(long)BinaryPrimitives.ReadInt32LittleEndian(table[(mid * EntrySize)..]);
            if (start <= address)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        if (found < 0)
        {
            fdeAddress = 0;
            return false;
        }
        fdeAddress = _address + (ulong)(long)BinaryPrimitives.ReadInt32LittleEndian(table[(found * EntrySize + 4)..]);
        return true;
    }
}
