namespace Profiler.Symbols.Dwarf;

/// <summary>The attributes of one debugging information entry that symbolization uses; all
/// others are read past. Values are raw: resolve them through the entry's <see cref="DwarfUnit"/>.</summary>
internal struct DebugEntry
{
    public ulong Offset;
    public uint Tag;
    public bool HasChildren;
    public AttributeValue Name;
    public AttributeValue LinkageName;
    public AttributeValue LowPc;
    public AttributeValue HighPc;
    public AttributeValue Ranges;
    public AttributeValue AbstractOrigin;
    public AttributeValue Specification;
    public AttributeValue CallFile;
    public AttributeValue CallLine;
    public AttributeValue StmtList;
    public AttributeValue CompDir;
    public AttributeValue StrOffsetsBase;
    public AttributeValue AddrBase;
    public AttributeValue RngListsBase;
    public AttributeValue Sibling;

    public readonly bool HasCode => LowPc.IsPresent || Ranges.IsPresent;

    /// <summary>Reads the entry at the cursor. False for a null entry (the end of a list of children).</summary>
    public static bool Read(ref DwarfCursor cursor, in FormContext context, AbbreviationTable abbreviations, out DebugEntry entry)
    {
        ulong offset = cursor.Position;
        ulong code = cursor.Uleb();
        if (code == 0)
        {
            entry = default;
            entry.Offset = offset;
            return false;
        }
        ReadAttributes(ref cursor, context, abbreviations.Find(code), offset, out entry);
        return true;
    }

    /// <summary>Reads past the attributes of an entry whose abbreviation code has been read,
    /// decoding none of them.</summary>
    public static void SkipAttributes(ref DwarfCursor cursor, in FormContext context, Abbreviation abbreviation)
    {
        int size = abbreviation.FixedSize(context);
        if (size >= 0)
        {
            cursor.Skip((ulong)size);
            return;
        }
        foreach (var spec in abbreviation.Attributes)
            FormReader.Skip(ref cursor, spec.Form, context);
    }

    /// <summary>Reads the attributes of the entry at <paramref name="offset"/>, whose abbreviation
    /// code has been read.</summary>
    public static void ReadAttributes(ref DwarfCursor cursor, in FormContext context, Abbreviation abbreviation,
        ulong offset, out DebugEntry entry)
    {
        entry = default;
        entry.Offset = offset;
        entry.Tag = abbreviation.Tag;
        entry.HasChildren = abbreviation.HasChildren;
        foreach (var spec in abbreviation.Attributes)
        {
            var value = FormReader.Read(ref cursor, spec.Form, context, spec.ImplicitConst);
            switch (spec.Name)
            {
                case DwAt.Name: entry.Name = value; break;
                case DwAt.LinkageName:
                case DwAt.MipsLinkageName: entry.LinkageName = value; break;
                case DwAt.LowPc: entry.LowPc = value; break;
                case DwAt.HighPc: entry.HighPc = value; break;
                case DwAt.Ranges: entry.Ranges = value; break;
                case DwAt.AbstractOrigin: entry.AbstractOrigin = value; break;
                case DwAt.Specification: entry.Specification = value; break;
                case DwAt.CallFile: entry.CallFile = value; break;
                case DwAt.CallLine: entry.CallLine = value; break;
                case DwAt.StmtList: entry.StmtList = value; break;
                case DwAt.CompDir: entry.CompDir = value; break;
                case DwAt.StrOffsetsBase: entry.StrOffsetsBase = value; break;
                case DwAt.AddrBase:
                case DwAt.GnuAddrBase: entry.AddrBase = value; break;
                case DwAt.RngListsBase: entry.RngListsBase = value; break;
                case DwAt.Sibling: entry.Sibling = value; break;
            }
        }
    }
}
