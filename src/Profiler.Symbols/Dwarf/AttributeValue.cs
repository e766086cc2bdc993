namespace Profiler.Symbols.Dwarf;

/// <summary>What an attribute's raw value means, by form class. Strings, indexed addresses and
/// range lists stay unresolved until a unit's bases (which may come later in its root entry) are
/// known.</summary>
internal enum ValueKind : byte
{
    None,
    Address,
    AddressIndex,
    Constant,
    /// <summary>An entry's offset from the start of .debug_info.</summary>
    Reference,
    /// <summary>A NUL-terminated string stored in place; the value is its offset in the section read.</summary>
    InlineString,
    Strp,
    LineStrp,
    StrIndex,
    SectionOffset,
    RngListIndex,
    /// <summary>Read past but not used (blocks, expressions, references into other files).</summary>
    Other,
}

internal readonly record struct AttributeValue(ValueKind Kind, ulong Value)
{
    public bool IsPresent => Kind != ValueKind.None;

    public bool IsString => Kind is ValueKind.InlineString or ValueKind.Strp or ValueKind.LineStrp or ValueKind.StrIndex;

    /// <summary>A constant or section offset: DWARF 2 and 3 give section offsets as data4/data8.</summary>
    public ulong? AsOffset => Kind is ValueKind.SectionOffset or ValueKind.Constant ? Value : null;

    public ulong? AsConstant => Kind == ValueKind.Constant ? Value : null;
}

/// <summary>What decoding a form needs to know about the unit (or line table) it appears in.</summary>
internal readonly record struct FormContext(ushort Version, int AddressSize, bool Is64, ulong UnitOffset)
{
    public static FormContext Of(UnitHeader unit) => new(unit.Version, unit.AddressSize, unit.Is64, unit.Offset);
}
