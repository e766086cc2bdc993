using Profiler.Symbols.Dwarf;

namespace Profiler.Symbols.Unwinding;

/// <summary>FDEs of a section sorted by start address, built by one scan of the section. Used for
/// .debug_frame, and for .eh_frame when there is no usable .eh_frame_hdr.</summary>
internal sealed class FdeIndex
{
    /// <summary>How many earlier entries a lookup tries when the nearest one ends too soon: FDEs
    /// normally do not overlap, but an FDE for discarded code may start inside another's range.</summary>
    private const int OverlapProbes = 4;

    private readonly ulong[] _starts;
    private readonly ulong[] _ends;
    private readonly int[] _offsets;

    private FdeIndex(ulong[] starts, ulong[] ends, int[] offsets)
    {
        _starts = starts;
        _ends = ends;
        _offsets = offsets;
    }

    public int Count => _starts.Length;

    /// <summary>Indexes every readable FDE. Unreadable entries are skipped; a corrupt length ends the
    /// scan (nothing after it can be located), keeping what was found before.</summary>
    public static FdeIndex Build(CfiSection section)
    {
        var entries = new List<(ulong Start, ulong End, int Offset)>();
        int offset = 0;
        while (true)
        {
            CfiEntry entry;
            try
            {
                if (!section.TryReadEntry(offset, out entry))
                    break;
            }
            catch (DwarfFormatException)
            {
                break;
            }
            if (!entry.IsCie)
            {
                try
                {
                    // Zero-length FDEs and FDEs at address 0 describe code the linker discarded.
                    if (section.TryReadFde(offset, out var fde) && fde.PcEnd > fde.PcBegin && fde.PcBegin != 0)
                        entries.Add((fde.PcBegin, fde.PcEnd, offset));
                }
                catch (DwarfFormatException)
                {
                }
            }
            offset = entry.End;
        }
        entries.Sort((a, b) => a.Start.CompareTo(b.Start));
        return new FdeIndex(
            entries.Select(e => e.Start).ToArray(),
            entries.Select(e => e.End).ToArray(),
            entries.Select(e => e.Offset).ToArray());
    }

    /// <summary>Section offset of the FDE covering <paramref name="address"/>.</summary>
    public bool TryFind(ulong address, out int offset)
    {
        int index = Array.BinarySearch(_starts, address);
        if (index < 0)
            index = ~index - 1;
        for (int i = index; i >= 0 && i > index - OverlapProbes; i--)
        {
            if (address >= _starts[i] && address < _ends[i])
            {
                offset = _offsets[i];
                return true;
            }
        }
        offset = 0;
        return false;
    }
}
