namespace Profiler.Symbols.Dwarf;

/// <summary>One attribute of an abbreviation: its name, form, and for DW_FORM_implicit_const the
/// value, which lives here rather than in the entry.</summary>
internal readonly record struct AttributeSpec(uint Name, uint Form, long ImplicitConst);

internal sealed class Abbreviation(uint tag, bool hasChildren, AttributeSpec[] attributes)
{
    private const long NotComputed = -1;
    /// <summary>The unit format the size below was computed for (packed with it into one word,
    /// so threads sharing the table never see one without the other).</summary>
    private long _fixedSize = NotComputed;

    public uint Tag { get; } = tag;
    public bool HasChildren { get; } = hasChildren;
    public AttributeSpec[] Attributes { get; } = attributes;
    public bool HasSibling { get; } = attributes.Any(a => a.Name == DwAt.Sibling);

    /// <summary>The size of an entry's attributes when every form has a fixed size in units of
    /// this format (most entries: types, members, parameters), else -1. Entries nobody needs are
    /// then skipped in one step.</summary>
    public int FixedSize(in FormContext context)
    {
        long formatKey = (long)context.AddressSize | (context.Is64 ? 1L << 8 : 0) | (context.Version <= 2 ? 1L << 9 : 0);
        long cached = Volatile.Read(ref _fixedSize);
        if (cached != NotComputed && cached >> 32 == formatKey)
            return (int)cached;
        int size = 0;
        foreach (var spec in Attributes)
        {
            int formSize = FormReader.FixedSize(spec.Form, context);
            if (formSize < 0)
            {
                size = -1;
                break;
            }
            size += formSize;
        }
        Volatile.Write(ref _fixedSize, formatKey << 32 | (uint)size);
        return size;
    }
}

/// <summary>An abbreviation table from .debug_abbrev. Codes are usually numbered densely from 1,
/// so they index an array; sparse codes go to a dictionary.</summary>
internal sealed class AbbreviationTable
{
    private const int MaxDenseCode = 1 << 16;
    private readonly Abbreviation?[] _dense;
    private readonly Dictionary<ulong, Abbreviation> _sparse;

    private AbbreviationTable(Abbreviation?[] dense, Dictionary<ulong, Abbreviation> sparse)
    {
        _dense = dense;
        _sparse = sparse;
    }

    public Abbreviation Find(ulong code)
    {
        if (code < (ulong)_dense.Length && _dense[code] is { } dense)
            return dense;
        if (_sparse.TryGetValue(code, out var sparse))
            return sparse;
        throw new DwarfFormatException($"abbreviation code {code} is not defined");
    }

    public static AbbreviationTable Read(DwarfSection abbrev, ulong offset)
    {
        var cursor = abbrev.Cursor(offset);
        var dense = new List<Abbreviation?>();
        var sparse = new Dictionary<ulong, Abbreviation>();
        var attributes = new List<AttributeSpec>();
        while (true)
        {
            ulong code = cursor.Uleb();
            if (code == 0)
                break;
            uint tag = (uint)cursor.Uleb();
            bool hasChildren = cursor.U8() != 0;
            attributes.Clear();
            while (true)
            {
                uint name = (uint)cursor.Uleb();
                uint form = (uint)cursor.Uleb();
                long implicitConst = form == DwForm.ImplicitConst ? cursor.Sleb() : 0;
                if (name == 0 && form == 0)
                    break;
                attributes.Add(new AttributeSpec(name, form, implicitConst));
            }
            var abbreviation = new Abbreviation(tag, hasChildren, [.. attributes]);
            if (code < MaxDenseCode)
            {
                while (dense.Count <= (int)code)
                    dense.Add(null);
                dense[(int)code] = abbreviation;
            }
            else
            {
                sparse[code] = abbreviation;
            }
        }
        return new AbbreviationTable([.. dense], sparse);
    }
}
