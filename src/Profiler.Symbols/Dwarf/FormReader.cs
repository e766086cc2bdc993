namespace Profiler.Symbols.Dwarf;

/// <summary>Decodes one attribute value of any DW_FORM, leaving the cursor after it.</summary>
internal static class FormReader
{
    private const int MaxIndirection = 8;

    public static AttributeValue Read(ref DwarfCursor cursor, uint form, in FormContext context, long implicitConst)
    {
        for (int indirections = 0; indirections < MaxIndirection; indirections++)
        {
            if (form != DwForm.Indirect)
                return ReadDirect(ref cursor, form, context, implicitConst);
            form = (uint)cursor.Uleb();
        }
        throw new DwarfFormatException("too many nested DW_FORM_indirect");
    }

    private static AttributeValue ReadDirect(ref DwarfCursor cursor, uint form, in FormContext context, long implicitConst)
    {
        switch (form)
        {
            case DwForm.Addr: return new(ValueKind.Address, cursor.Address(context.AddressSize));
            case DwForm.Data1: return Constant(cursor.U8());
            case DwForm.Data2: return Constant(cursor.U16());
            case DwForm.Data4: return Constant(cursor.U32());
            case DwForm.Data8: return Constant(cursor.U64());
            case DwForm.Udata: return Constant(cursor.Uleb());
            case DwForm.Sdata: return Constant((ulong)cursor.Sleb());
            case DwForm.ImplicitConst: return Constant((ulong)implicitConst);
            case DwForm.Flag: return Constant(cursor.U8());
            case DwForm.FlagPresent: return Constant(1);
            case DwForm.Data16: cursor.Skip(16); return Other;
            case DwForm.String:
                ulong start = cursor.Position;
                cursor.CString();
                return new(ValueKind.InlineString, start);
            case DwForm.Strp: return new(ValueKind.Strp, cursor.Offset(context.Is64));
            case DwForm.LineStrp: return new(ValueKind.LineStrp, cursor.Offset(context.Is64));
            case DwForm.Strx:
            case DwForm.GnuStrIndex: return new(ValueKind.StrIndex, cursor.Uleb());
            case DwForm.Strx1: return new(ValueKind.StrIndex, cursor.U8());
            case DwForm.Strx2: return new(ValueKind.StrIndex, cursor.U16());
            case DwForm.Strx3: return new(ValueKind.StrIndex, cursor.U24());
            case DwForm.Strx4: return new(ValueKind.StrIndex, cursor.U32());
            case DwForm.Addrx:
            case DwForm.GnuAddrIndex: return new(ValueKind.AddressIndex, cursor.Uleb());
            case DwForm.Addrx1: return new(ValueKind.AddressIndex, cursor.U8());
            case DwForm.Addrx2: return new(ValueKind.AddressIndex, cursor.U16());
            case DwForm.Addrx3: return new(ValueKind.AddressIndex, cursor.U24());
            case DwForm.Addrx4: return new(ValueKind.AddressIndex, cursor.U32());
            case DwForm.Ref1: return Reference(context, cursor.U8());
            case DwForm.Ref2: return Reference(context, cursor.U16());
            case DwForm.Ref4: return Reference(context, cursor.U32());
            case DwForm.Ref8: return Reference(context, cursor.U64());
            case DwForm.RefUdata: return Reference(context, cursor.Uleb());
            case DwForm.RefAddr:
                // DWARF 2 sized these like addresses; later versions like section offsets.
                ulong target = context.Version <= 2 ? cursor.Address(context.AddressSize) : cursor.Offset(context.Is64);
                return new(ValueKind.Reference, target);
            case DwForm.SecOffset: return new(ValueKind.SectionOffset, cursor.Offset(context.Is64));
            case DwForm.Rnglistx: return new(ValueKind.RngListIndex, cursor.Uleb());
            case DwForm.Loclistx: cursor.Uleb(); return Other;
            case DwForm.RefSig8: cursor.Skip(8); return Other;
            case DwForm.RefSup4: cursor.Skip(4); return Other;
            case DwForm.RefSup8: cursor.Skip(8); return Other;
            case DwForm.StrpSup:
            case DwForm.GnuRefAlt:
            case DwForm.GnuStrpAlt: cursor.Offset(context.Is64); return Other;
            case DwForm.Block1: cursor.Skip(cursor.U8()); return Other;
            case DwForm.Block2: cursor.Skip(cursor.U16()); return Other;
            case DwForm.Block4: cursor.Skip(cursor.U32()); return Other;
            case DwForm.Block:
            case DwForm.Exprloc: cursor.Skip(cursor.Uleb()); return Other;
            default: throw new DwarfFormatException($"unknown attribute form 0x{form:x}");
        }
    }

    /// <summary>Reads past one value without decoding it.</summary>
    public static void Skip(ref DwarfCursor cursor, uint form, in FormContext context)
    {
        int size = FixedSize(form, context);
        if (size >= 0)
            cursor.Skip((ulong)size);
        else
            Read(ref cursor, form, context, 0);
    }

    /// <summary>The size in bytes of a value of <paramref name="form"/>, or -1 when it varies.</summary>
    public static int FixedSize(uint form, in FormContext context) => form switch
    {
        DwForm.FlagPresent or DwForm.ImplicitConst => 0,
        DwForm.Data1 or DwForm.Ref1 or DwForm.Flag or DwForm.Strx1 or DwForm.Addrx1 => 1,
        DwForm.Data2 or DwForm.Ref2 or DwForm.Strx2 or DwForm.Addrx2 => 2,
        DwForm.Strx3 or DwForm.Addrx3 => 3,
        DwForm.Data4 or DwForm.Ref4 or DwForm.Strx4 or DwForm.Addrx4 or DwForm.RefSup4 => 4,
        DwForm.Data8 or DwForm.Ref8 or DwForm.RefSig8 or DwForm.RefSup8 => 8,
        DwForm.Data16 => 16,
        DwForm.Addr => context.AddressSize,
        DwForm.RefAddr => context.Version <= 2 ? context.AddressSize : context.Is64 ? 8 : 4,
        DwForm.Strp or DwForm.LineStrp or DwForm.SecOffset or DwForm.StrpSup or DwForm.GnuRefAlt or DwForm.GnuStrpAlt
            => context.Is64 ? 8 : 4,
        _ => -1,
    };

    private static AttributeValue Other => new(ValueKind.Other, 0);

    private static AttributeValue Constant(ulong value) => new(ValueKind.Constant, value);

    private static AttributeValue Reference(in FormContext context, ulong unitRelative) =>
        new(ValueKind.Reference, context.UnitOffset + unitRelative);
}
