namespace Profiler.Symbols.Dwarf;

/// <summary>A unit's line number program run into rows: for each sequence of contiguous code, the
/// addresses where the source position changes. An address takes the last row at or below it.</summary>
internal sealed class LineTable
{
    private readonly Sequence[] _sequences;
    /// <summary>The largest sequence end among sequences 0..i, to step back past short ones.</summary>
    private readonly ulong[] _reach;
    private readonly ulong[] _addresses;
    private readonly int[] _lines;
    private readonly uint[] _files;
    private readonly LineFileTable _fileTable;

    internal LineTable(List<Sequence> sequences, List<ulong> addresses, List<int> lines, List<uint> files, LineFileTable fileTable)
    {
        sequences.Sort((a, b) => a.Start.CompareTo(b.Start));
        _sequences = [.. sequences];
        _reach = new ulong[_sequences.Length];
        for (int i = 0; i < _sequences.Length; i++)
            _reach[i] = i == 0 ? _sequences[i].End : Math.Max(_reach[i - 1], _sequences[i].End);
        _addresses = [.. addresses];
        _lines = [.. lines];
        _files = [.. files];
        _fileTable = fileTable;
    }

    internal readonly record struct Sequence(ulong Start, ulong End, int FirstRow, int RowCount);

    public int RowCount => _addresses.Length;

    /// <summary>The source line and file number of <paramref name="address"/>; false when no
    /// sequence covers it.</summary>
    public bool TryFind(ulong address, out uint file, out int line)
    {
        int index = UpperBound(_sequences, address) - 1;
        for (; index >= 0 && _reach[index] > address; index--)
        {
            var sequence = _sequences[index];
            if (address >= sequence.End)
                continue;
            int row = LastRowAtOrBelow(sequence, address);
            file = _files[row];
            line = _lines[row];
            return true;
        }
        file = 0;
        line = 0;
        return false;
    }

    /// <summary>The full path of file number <paramref name="file"/> (as rows and DW_AT_call_file
    /// number them), or null when the table has no such file.</summary>
    public string? FilePath(ulong file) => _fileTable.Path(file);

    private int LastRowAtOrBelow(Sequence sequence, ulong address)
    {
        int low = sequence.FirstRow, high = sequence.FirstRow + sequence.RowCount;
        while (low < high)
        {
            int middle = low + (high - low) / 2;
            if (_addresses[middle] <= address)
                low = middle + 1;
            else
                high = middle;
        }
        return Math.Max(sequence.FirstRow, low - 1);
    }

    private static int UpperBound(Sequence[] sequences, ulong address)
    {
        int low = 0, high = sequences.Length;
        while (low < high)
        {
            int middle = low + (high - low) / 2;
            if (sequences[middle].Start <= address)
                low = middle + 1;
            else
                high = middle;
        }
        return low;
    }
}
