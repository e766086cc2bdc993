using Profiler.Symbols.Dwarf;

namespace Profiler.Symbols.Unwinding;

/// <summary>One .eh_frame or .debug_frame section, copied out of its file: parses CIEs and FDEs on
/// demand by offset. The two formats differ only in how a CIE is marked and found, and in that
/// .debug_frame stores plain addresses where .eh_frame uses DW_EH_PE pointer encodings.</summary>
internal sealed class CfiSection
{
    private readonly Dictionary<int, CommonInformationEntry?> _cies = [];

    public CfiSection(CfiSectionKind kind, byte[] data, ulong address, PointerBases bases)
    {
        Kind = kind;
        Data = data;
        Address = address;
        Bases = bases;
    }

    public CfiSectionKind Kind { get; }

    public byte[] Data { get; }

    /// <summary>Link-time address of the section's first byte (the base of pc-relative pointers).</summary>
    public ulong Address { get; }

    public PointerBases Bases { get; }

    /// <summary>Reads the header of the entry at <paramref name="offset"/>. False at a zero terminator
    /// or the end of the section.</summary>
    public bool TryReadEntry(int offset, out CfiEntry entry)
    {
        entry = default;
        if (offset < 0 || offset > Data.Length - 4)
            return false;
        var reader = new DwarfCursor(Data, (ulong)offset);
        ulong length = reader.U32();
        if (length == 0)
            return false;
        bool is64 = length == 0xffffffff;
        if (is64)
            length = reader.U64();
        int contentStart = (int)reader.Position;
        if (length > (ulong)(Data.Length - contentStart))
            throw new DwarfFormatException($"entry at 0x{offset:x} is 0x{length:x} bytes long, past the section's end");
        int end = contentStart + (int)length;
        // .eh_frame keeps a 4-byte CIE id/pointer even after a 64-bit length (LSB 5.0 §10.6.1).
        ulong id = is64 && Kind == CfiSectionKind.DebugFrame ? reader.U64() : reader.U32();
        bool isCie = Kind == CfiSectionKind.EhFrame
            ? id == 0
            : id == (is64 ? ulong.MaxValue : 0xffffffff);
        long cieOffset = Kind == CfiSectionKind.EhFrame ? contentStart - (long)id : (long)id;
        if ((int)reader.Position > end)
            throw new DwarfFormatException($"entry at 0x{offset:x} is too short for its id");
        entry = new CfiEntry(offset, isCie, isCie ? offset : cieOffset, (int)reader.Position, end);
        return true;
    }

    public CommonInformationEntry? Cie(long offset)
    {
        if (offset < 0 || offset >= Data.Length)
            throw new DwarfFormatException($"CIE pointer 0x{offset:x} is outside the section");
        int key = (int)offset;
        if (_cies.TryGetValue(key, out var cached))
            return cached;
        CommonInformationEntry? cie = null;
        try
        {
            if (TryReadEntry(key, out var entry) && entry.IsCie)
                cie = ParseCie(entry);
        }
        catch (DwarfFormatException)
        {
        }
        _cies[key] = cie;
        return cie;
    }

    /// <summary>The FDE at <paramref name="offset"/>, or false when the entry there is a CIE or the
    /// FDE's CIE is unusable.</summary>
    public bool TryReadFde(int offset, out FrameDescriptionEntry fde)
    {
        fde = default;
        if (!TryReadEntry(offset, out var entry) || entry.IsCie)
            return false;
        var cie = Cie(entry.CieOffset);
        if (cie is null)
            return false;
        var reader = new DwarfCursor(Data.AsSpan(0, entry.End), (ulong)entry.ContentStart);
        ulong pcBegin = PointerEncoding.Read(ref reader, cie.FdeEncoding, Address, Bases);
        ulong pcRange = PointerEncoding.Read(ref reader, (byte)(cie.FdeEncoding & 0x0f), Address, Bases);
        if (cie.HasAugmentationData)
            reader.Skip(reader.Uleb());
        ulong pcEnd = pcBegin + pcRange;
        if (pcEnd < pcBegin)
            throw new DwarfFormatException($"FDE at 0x{offset:x} has a range past the end of the address space");
        fde = new FrameDescriptionEntry(cie, pcBegin, pcEnd, (int)reader.Position, entry.End);
        return true;
    }

    private CommonInformationEntry ParseCie(CfiEntry entry)
    {
        var reader = new DwarfCursor(Data.AsSpan(0, entry.End), (ulong)entry.ContentStart);
        byte version = reader.U8();
        if (version is not (1 or 3 or 4))
            throw new DwarfFormatException($"CIE at 0x{entry.Offset:x} has unsupported version {version}");
        var augmentation = reader.CString();
        byte addressSize = 8;
        if (version >= 4)
        {
            addressSize = reader.U8();
            byte segmentSize = reader.U8();
            if (segmentSize != 0 || addressSize is not (4 or 8))
                throw new DwarfFormatException($"CIE at 0x{entry.Offset:x} has address size {addressSize}, segment size {segmentSize}");
        }
        // GCC 2's "eh" augmentation: a pointer to exception tables follows the string.
        if (augmentation.StartsWith("eh"u8))
            reader.Skip(addressSize);
        ulong codeAlignment = reader.Uleb();
        long dataAlignment = reader.Sleb();
        ulong returnAddress = version == 1 ? reader.U8() : reader.Uleb();

        // .debug_frame stores plain target addresses; .eh_frame defaults to absolute pointers too.
        byte fdeEncoding = addressSize == 4 ? PointerEncoding.Udata4 : PointerEncoding.Absolute;
        bool signal = false;
        bool hasData = augmentation.Length > 0 && augmentation[0] == (byte)'z';
        if (hasData)
        {
            int dataLength = reader.UlebInt();
            long dataEnd = (long)reader.Position + dataLength;
            for (int i = 1; i < augmentation.Length; i++)
            {
                switch ((char)augmentation[i])
                {
                    case 'R':
                        fdeEncoding = reader.U8();
                        break;
                    case 'L':
                        reader.U8();
                        break;
                    case 'P':
                        PointerEncoding.Read(ref reader, reader.U8(), Address, Bases);
                        break;
                    case 'S':
                        signal = true;
                        break;
                    default:
                        // Unknown letters ("B", "G" of other targets, future ones): the length
                        // prefix still lets the instructions be found.
                        i = augmentation.Length;
                        break;
                }
            }
            if (dataEnd > entry.End || (long)reader.Position > dataEnd)
                throw new DwarfFormatException($"CIE at 0x{entry.Offset:x} has augmentation data past its end");
            reader.Position = (ulong)dataEnd;
        }
        else if (augmentation.Length > 0 && !augmentation.SequenceEqual("eh"u8))
        {
            throw new DwarfFormatException($"CIE at 0x{entry.Offset:x} has an augmentation this reader cannot skip");
        }
        if ((int)reader.Position > entry.End)
            throw new DwarfFormatException($"CIE at 0x{entry.Offset:x} is longer than its length");
        return new CommonInformationEntry
        {
            Offset = entry.Offset,
            Version = version,
            CodeAlignment = codeAlignment,
            DataAlignment = dataAlignment,
            ReturnAddressRegister = returnAddress,
            FdeEncoding = fdeEncoding,
            HasAugmentationData = hasData,
            IsSignalFrame = signal,
            InstructionsStart = (int)reader.Position,
            InstructionsEnd = entry.End,
        };
    }
}

/// <summary>The header of one CIE or FDE: where its content starts and ends, and its CIE.</summary>
internal readonly record struct CfiEntry(int Offset, bool IsCie, long CieOffset, int ContentStart, int End);
