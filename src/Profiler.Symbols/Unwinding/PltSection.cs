using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Unwinding;

/// <summary>A procedure linkage table section and the stack layout inside its stubs, for linkers that
/// emit no CFI for them. Lazy .plt entries are `jmp *GOT; push index; jmp PLT0` (16 bytes; with IBT
/// `endbr64` first), PLT0 pushes one more word; .plt.sec and .plt.got stubs only jump.</summary>
internal readonly record struct PltSection(ulong Start, ulong End, bool Lazy, int PushEnd)
{
    private const int EntrySize = 16;
    private static ReadOnlySpan<byte> Endbr64 => [0xf3, 0x0f, 0x1e, 0xfa];

    public static PltSection[] Find(ElfFile elf)
    {
        var found = new List<PltSection>();
        foreach (var section in elf.Sections)
        {
            if (section.Size == 0 || (section.Flags & ElfSectionFlags.ExecInstr) == 0)
                continue;
            if (section.Name == ".plt")
                found.Add(new PltSection(section.Address, section.Address + section.Size, Lazy: true, ReadPushEnd(elf, section)));
            else if (section.Name is ".plt.sec" or ".plt.got")
                found.Add(new PltSection(section.Address, section.Address + section.Size, Lazy: false, 0));
        }
        return [.. found];
    }

    /// <summary>Where a lazy entry's `push index` ends: byte 11, or 9 when entries start with endbr64.</summary>
    private static int ReadPushEnd(ElfFile elf, ElfSection plt)
    {
        try
        {
            var bytes = elf.ReadSection(plt);
            return bytes.Length >= 2 * EntrySize && bytes.Slice(EntrySize, Endbr64.Length).SequenceEqual(Endbr64) ? 9 : 11;
        }
        catch (ElfFormatException)
        {
            return 11;
        }
    }

    /// <summary>The CFA's distance from rsp at <paramref name="address"/> inside this section.</summary>
    public bool TryGetCfaOffset(ulong address, out int cfaOffset)
    {
        cfaOffset = 0;
        if (address < Start || address >= End)
            return false;
        ulong offset = address - Start;
        if (!Lazy)
            cfaOffset = 8;
        else if (offset < EntrySize)
            cfaOffset = offset < 6 ? 16 : 24; // PLT0: the entry's push, then PLT0's own `push GOT+8`
        else
            cfaOffset = (int)(offset % EntrySize) < PushEnd ? 8 : 16;
        return true;
    }
}
