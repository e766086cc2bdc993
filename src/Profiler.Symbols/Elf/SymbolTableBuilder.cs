using System.Text;

namespace Profiler.Symbols.Elf;

/// <summary>Collects defined function symbols for a <see cref="SymbolTable"/>, copying their names
/// into one growing UTF-8 buffer: a large C++ library has hundreds of thousands of symbols, and
/// one object per name would cost far more memory and collection time than the names themselves.</summary>
internal sealed class SymbolTableBuilder(int expectedNameBytes = 4096)
{
    private readonly List<FunctionEntry> _functions = [];
    private readonly Dictionary<string, (int Offset, int Length)> _versions = new(StringComparer.Ordinal);
    private byte[] _names = new byte[Math.Max(expectedNameBytes, 16)];
    private int _namesLength;

    public void Add(in RawSymbol symbol)
    {
        if (symbol.IsDefinedFunction)
            Add(symbol.Name, symbol.Value, symbol.Size, symbol.SectionIndex, symbol.Binding, symbol.Version,
                symbol.IsHiddenVersion);
    }

    public void Add(ElfSymbol symbol)
    {
        if (symbol.IsFunction && symbol.IsDefined)
            Add(Encoding.UTF8.GetBytes(symbol.Name), symbol.Value, symbol.Size, symbol.SectionIndex, symbol.Binding,
                symbol.Version, symbol.IsHiddenVersion);
    }

    /// <summary>Everything collected; the name buffer is trimmed when much of it went unused.</summary>
    public (FunctionEntry[] Functions, byte[] Names) Build()
    {
        if (_names.Length - _namesLength > _names.Length / 4)
            Array.Resize(ref _names, _namesLength);
        return ([.. _functions], _names);
    }

    /// <summary>One entry per distinct address, in address order: the best-named alias, carrying
    /// the largest size of all aliases (assembly often gives a size to only one of them).</summary>
    public static (FunctionEntry[] Best, ulong[] Sizes) BestPerAddress(FunctionEntry[] functions, byte[] names)
    {
        var addresses = Array.ConvertAll(functions, entry => entry.Value);
        var order = new int[functions.Length];
        for (int i = 0; i < order.Length; i++)
            order[i] = i;
        Array.Sort(addresses, order);

        var best = new List<FunctionEntry>();
        var sizes = new List<ulong>();
        foreach (int index in order)
        {
            var entry = functions[index];
            if (best.Count > 0 && best[^1].Value == entry.Value)
            {
                sizes[^1] = Math.Max(sizes[^1], entry.Size);
                if (SymbolNames.CompareAliases(entry, best[^1], names) < 0)
                    best[^1] = entry;
                continue;
            }
            best.Add(entry);
            sizes.Add(entry.Size);
        }
        return ([.. best], [.. sizes]);
    }

    private void Add(ReadOnlySpan<byte> name, ulong value, ulong size, uint sectionIndex, ElfSymbolBinding binding,
        string? version, bool hiddenVersion)
    {
        int nameOffset = Append(name);
        var (versionOffset, versionLength) = version is null ? (FunctionEntry.NoVersion, 0) : VersionRange(version);
        _functions.Add(new FunctionEntry(value, size, sectionIndex, binding, nameOffset, name.Length,
            versionOffset, versionLength, hiddenVersion));
    }

    private (int Offset, int Length) VersionRange(string version)
    {
        if (!_versions.TryGetValue(version, out var range))
        {
            var bytes = Encoding.UTF8.GetBytes(version);
            range = (Append(bytes), bytes.Length);
            _versions.Add(version, range);
        }
        return range;
    }

    private int Append(ReadOnlySpan<byte> bytes)
    {
        if (_names.Length - _namesLength < bytes.Length)
        {
            long grown = Math.Max((long)_names.Length * 2, (long)_namesLength + bytes.Length);
            if (grown > Array.MaxLength)
                throw new InvalidOperationException("symbol names exceed the largest possible array");
            Array.Resize(ref _names, (int)grown);
        }
        int offset = _namesLength;
        bytes.CopyTo(_names.AsSpan(offset));
        _namesLength += bytes.Length;
        return offset;
    }
}
