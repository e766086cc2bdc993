namespace Profiler.Symbols.Dwarf;

// Numbers from the DWARF 4 and 5 specifications (and the GNU extensions) that the reader needs.

internal static class DwTag
{
    public const uint InlinedSubroutine = 0x1d;
    public const uint Subprogram = 0x2e;

    /// <summary>Entries whose children never include code: types that are not classes, their
    /// parts, parameters, variables and call sites. Their subtrees are skipped whole.</summary>
    public static bool CannotOwnCode(uint tag) => tag switch
    {
        0x01 /* array_type */ or 0x04 /* enumeration_type */ or 0x05 /* formal_parameter */ or
        0x0d /* member */ or 0x15 /* subroutine_type */ or 0x21 /* subrange_type */ or
        0x33 /* variant_part */ or 0x19 /* variant */ or 0x34 /* variable */ or
        0x48 /* call_site */ or 0x4109 /* GNU_call_site */ or
        0x4107 /* GNU_template_parameter_pack */ or 0x4108 /* GNU_formal_parameter_pack */ => true,
        _ => false,
    };
}

internal static class DwAt
{
    public const uint Sibling = 0x01;
    public const uint Name = 0x03;
    public const uint StmtList = 0x10;
    public const uint LowPc = 0x11;
    public const uint HighPc = 0x12;
    public const uint CompDir = 0x1b;
    public const uint AbstractOrigin = 0x31;
    public const uint Specification = 0x47;
    public const uint Ranges = 0x55;
    public const uint CallFile = 0x58;
    public const uint CallLine = 0x59;
    public const uint LinkageName = 0x6e;
    public const uint StrOffsetsBase = 0x72;
    public const uint AddrBase = 0x73;
    public const uint RngListsBase = 0x74;
    public const uint MipsLinkageName = 0x2007;
    public const uint GnuAddrBase = 0x2133;
}

internal static class DwForm
{
    public const uint Addr = 0x01;
    public const uint Block2 = 0x03;
    public const uint Block4 = 0x04;
    public const uint Data2 = 0x05;
    public const uint Data4 = 0x06;
    public const uint Data8 = 0x07;
    public const uint String = 0x08;
    public const uint Block = 0x09;
    public const uint Block1 = 0x0a;
    public const uint Data1 = 0x0b;
    public const uint Flag = 0x0c;
    public const uint Sdata = 0x0d;
    public const uint Strp = 0x0e;
    public const uint Udata = 0x0f;
    public const uint RefAddr = 0x10;
    public const uint Ref1 = 0x11;
    public const uint Ref2 = 0x12;
    public const uint Ref4 = 0x13;
    public const uint Ref8 = 0x14;
    public const uint RefUdata = 0x15;
    public const uint Indirect = 0x16;
    public const uint SecOffset = 0x17;
    public const uint Exprloc = 0x18;
    public const uint FlagPresent = 0x19;
    public const uint Strx = 0x1a;
    public const uint Addrx = 0x1b;
    public const uint RefSup4 = 0x1c;
    public const uint StrpSup = 0x1d;
    public const uint Data16 = 0x1e;
    public const uint LineStrp = 0x1f;
    public const uint RefSig8 = 0x20;
    public const uint ImplicitConst = 0x21;
    public const uint Loclistx = 0x22;
    public const uint Rnglistx = 0x23;
    public const uint RefSup8 = 0x24;
    public const uint Strx1 = 0x25;
    public const uint Strx2 = 0x26;
    public const uint Strx3 = 0x27;
    public const uint Strx4 = 0x28;
    public const uint Addrx1 = 0x29;
    public const uint Addrx2 = 0x2a;
    public const uint Addrx3 = 0x2b;
    public const uint Addrx4 = 0x2c;
    public const uint GnuAddrIndex = 0x1f01;
    public const uint GnuStrIndex = 0x1f02;
    public const uint GnuRefAlt = 0x1f20;
    public const uint GnuStrpAlt = 0x1f21;
}

internal static class DwUt
{
    public const byte Compile = 0x01;
    public const byte Type = 0x02;
    public const byte Partial = 0x03;
    public const byte Skeleton = 0x04;
    public const byte SplitCompile = 0x05;
    public const byte SplitType = 0x06;
}

internal static class DwLns
{
    public const byte Copy = 1;
    public const byte AdvancePc = 2;
    public const byte AdvanceLine = 3;
    public const byte SetFile = 4;
    public const byte ConstAddPc = 8;
    public const byte FixedAdvancePc = 9;
}

internal static class DwLne
{
    public const byte EndSequence = 1;
    public const byte SetAddress = 2;
    public const byte DefineFile = 3;
}

internal static class DwLnct
{
    public const ulong Path = 1;
    public const ulong DirectoryIndex = 2;
}

internal static class DwRle
{
    public const byte EndOfList = 0;
    public const byte BaseAddressx = 1;
    public const byte StartxEndx = 2;
    public const byte StartxLength = 3;
    public const byte OffsetPair = 4;
    public const byte BaseAddress = 5;
    public const byte StartEnd = 6;
    public const byte StartLength = 7;
}
