using System.Text;

namespace Profiler.Symbols.Elf;

/// <summary>Address-to-function lookup over a file's defined FUNC and IFUNC symbols, .symtab and
/// .dynsym merged. Each address appears once, under the best of its aliases: global over weak
/// over local, unversioned over versioned, then the shortest name. Lookups are binary searches.
/// Independent of the <see cref="ElfFile"/> once built, and safe to share between threads.</summary>
public sealed class SymbolTable
{
    private readonly ulong[] _starts;
    private readonly ulong[] _ends;
    /// <summary>The largest end among entries 0..i: lets a lookup step back past small symbols to
    /// a larger one that encloses the address, and stop as soon as none can.</summary>
    private readonly ulong[] _reach;
    private readonly FunctionEntry[] _best;
    /// <summary>Names are decoded on first lookup, as most functions are never looked up.</summary>
    private readonly string?[] _decodedNames;
    private readonly FunctionEntry[] _functions;
    private readonly byte[] _names;

    public SymbolTable(IEnumerable<ElfSymbol> symbols, IReadOnlyList<ElfSection> sections)
        : this(Collect(symbols), sections)
    {
    }

    private SymbolTable(SymbolTableBuilder collected, IReadOnlyList<ElfSection> sections)
    {
        (_functions, _names) = collected.Build();
        (_best, var sizes) = SymbolTableBuilder.BestPerAddress(_functions, _names);
        int count = _best.Length;
        _starts = Array.ConvertAll(_best, entry => entry.Value);
        _ends = new ulong[count];
        _reach = new ulong[count];
        _decodedNames = new string?[count];
        for (int i = 0; i < count; i++)
        {
            ulong next = i + 1 < count ? _starts[i + 1] : ulong.MaxValue;
            _ends[i] = EndOf(_best[i], sizes[i], next, sections);
            _reach[i] = i == 0 ? _ends[i] : Math.Max(_reach[i - 1], _ends[i]);
        }
    }

    /// <summary>Number of distinct function addresses.</summary>
    public int Count => _starts.Length;

    /// <summary>Reads the symbols straight from the mapping, creating no object per symbol.</summary>
    public static SymbolTable Create(ElfFile elf)
    {
        var builder = new SymbolTableBuilder(elf.SymbolNameBytes);
        elf.VisitSymbols((in RawSymbol symbol) => builder.Add(symbol));
        return new SymbolTable(builder, elf.Sections);
    }

    /// <summary>The function containing link-time address <paramref name="address"/>.</summary>
    public bool TryLookup(ulong address, out SymbolHit hit)
    {
        int index = Array.BinarySearch(_starts, address);
        if (index < 0)
            index = ~index - 1;
        for (; index >= 0 && _reach[index] > address; index--)
        {
            if (_ends[index] > address)
            {
                hit = new SymbolHit(NameAt(index), _starts[index], _ends[index] - _starts[index], address - _starts[index]);
                return true;
            }
        }
        hit = default;
        return false;
    }

    /// <summary>Addresses of the named functions, for attaching probes. A name matches a symbol
    /// exactly, with its version stripped ("malloc" finds "malloc@@GLIBC_2.2.5"), or with its
    /// version spelt out. When a name has global or weak definitions, local ones of the same name
    /// are ignored. A name defined at several addresses (several symbol versions) yields each,
    /// the default version first. Names not defined in the file are absent from the result.
    /// For IFUNC symbols the address is that of the resolver.</summary>
    public IReadOnlyList<(string Name, ulong Address)> FindFunctions(IEnumerable<string> names)
    {
        var found = new List<(string Name, ulong Address)>();
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            var wanted = Encoding.UTF8.GetBytes(name);
            var matches = _functions.Where(entry => SymbolNames.Matches(wanted, entry, _names)).ToList();
            bool hasExported = matches.Any(entry => entry.Binding != ElfSymbolBinding.Local);
            var addresses = matches
                .Where(entry => !hasExported || entry.Binding != ElfSymbolBinding.Local)
                .OrderBy(entry => SymbolNames.IsNonDefaultVersion(entry, _names))
                .ThenBy(entry => SymbolNames.BindingRank(entry.Binding))
                .ThenBy(entry => entry.Value)
                .Select(entry => entry.Value)
                .Distinct();
            found.AddRange(addresses.Select(address => (name, address)));
        }
        return found;
    }

    private static SymbolTableBuilder Collect(IEnumerable<ElfSymbol> symbols)
    {
        var builder = new SymbolTableBuilder();
        foreach (var symbol in symbols)
            builder.Add(symbol);
        return builder;
    }

    private string NameAt(int index)
    {
        // Two threads may decode the same name at once; either result is the same string.
        return _decodedNames[index] ??= Decode(_best[index]);
    }

    private string Decode(in FunctionEntry entry)
    {
        var name = entry.Name(_names);
        return Encoding.UTF8.GetString(name[..SymbolNames.DisplayLength(name)]);
    }

    /// <summary>A size-0 symbol (hand-written assembly, usually) is taken to run up to the next
    /// symbol, but never past the end of its own section, so it cannot swallow a gap or the
    /// following section. Without a known section it covers only its own address.</summary>
    private static ulong EndOf(in FunctionEntry entry, ulong size, ulong next, IReadOnlyList<ElfSection> sections)
    {
        ulong start = entry.Value;
        if (size > 0)
            return ulong.MaxValue - start < size ? ulong.MaxValue : start + size;
        var section = entry.SectionIndex < sections.Count ? sections[(int)entry.SectionIndex] : null;
        if (section is null || !section.ContainsAddress(start))
            return start == ulong.MaxValue ? start : start + 1;
        return Math.Min(next, section.Address + section.Size);
    }
}
