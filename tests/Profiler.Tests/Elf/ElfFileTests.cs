using Profiler.Symbols.Elf;

namespace Profiler.Tests.Elf;

/// <summary>Headers, sections, segments and notes, checked against readelf.</summary>
[Collection(TestProgramCollection.Name)]
public sealed class ElfFileTests(TestProgram programs)
{
    private const ushort X86_64 = 62;

    [Theory]
    [InlineData(ElfInputs.Libc)]
    [InlineData(ElfInputs.StrippedPie)]
    [InlineData(ElfInputs.Program)]
    [InlineData(ElfInputs.FixedAddressProgram)]
    [InlineData(ElfInputs.CompressedProgram)]
    public void Sections_match_readelf(string input)
    {
        string path = ElfInputs.Resolve(input, programs, "readelf");
        var expected = Readelf.Sections(path);
        using var elf = ElfFile.Open(path);

        Assert.Equal(expected.Count, elf.Sections.Count);
        foreach (var (want, got) in expected.Zip(elf.Sections))
        {
            Assert.Equal(want.Index, got.Index);
            Assert.Equal(want.Name, got.Name);
            Assert.Equal((want.Address, want.Offset, want.Size), (got.Address, got.Offset, got.Size));
            Assert.Equal((want.EntrySize, want.Link, want.Info, want.Alignment),
                (got.EntrySize, got.Link, got.Info, got.Alignment));
            Assert.Equal(want.Flags.Contains('A'), got.Flags.HasFlag(ElfSectionFlags.Alloc));
            Assert.Equal(want.Flags.Contains('W'), got.Flags.HasFlag(ElfSectionFlags.Write));
            Assert.Equal(want.Flags.Contains('X'), got.Flags.HasFlag(ElfSectionFlags.ExecInstr));
            Assert.Equal(want.Flags.Contains('C'), got.IsCompressed);
            Assert.Equal(want.Type == "NOBITS", got.Type == ElfSectionType.NoBits);
        }
        Assert.Equal(expected.Any(s => s.Type == "SYMTAB"), elf.HasSymtab);
    }

    [Theory]
    [InlineData(ElfInputs.Libc, ElfKind.SharedObject)]
    [InlineData(ElfInputs.StrippedPie, ElfKind.SharedObject)]
    [InlineData(ElfInputs.Program, ElfKind.SharedObject)]
    [InlineData(ElfInputs.FixedAddressProgram, ElfKind.Executable)]
    public void Kind_and_machine_are_read_from_the_header(string input, ElfKind kind)
    {
        string path = ElfInputs.Resolve(input, programs);
        using var elf = ElfFile.Open(path);

        Assert.Equal(kind, elf.Kind);
        Assert.Equal(X86_64, elf.Machine);
    }

    [Theory]
    [InlineData(ElfInputs.Libc)]
    [InlineData(ElfInputs.StrippedPie)]
    [InlineData(ElfInputs.Program)]
    [InlineData(ElfInputs.FixedAddressProgram)]
    public void Load_segments_match_readelf(string input)
    {
        string path = ElfInputs.Resolve(input, programs, "readelf");
        var expected = Readelf.LoadSegments(path);
        using var elf = ElfFile.Open(path);

        Assert.Equal(
            expected.Select(s => (s.Offset, s.VirtualAddress, s.FileSize, s.MemorySize, s.Flags)),
            elf.LoadSegments.Select(s => (s.FileOffset, s.VirtualAddress, s.FileSize, s.MemorySize, FlagLetters(s.Flags))));
    }

    [Theory]
    [InlineData(ElfInputs.Libc)]
    [InlineData(ElfInputs.StrippedPie)]
    [InlineData(ElfInputs.FixedAddressProgram)]
    public void Addresses_and_file_offsets_translate_through_the_load_segments(string input)
    {
        string path = ElfInputs.Resolve(input, programs, "readelf");
        var loads = Readelf.LoadSegments(path);
        using var elf = ElfFile.Open(path);

        foreach (var load in loads)
        {
            ulong last = load.FileSize - 1;
            ulong middle = load.FileSize / 2;
            Assert.Equal(load.Offset, elf.VirtualAddressToFileOffset(load.VirtualAddress));
            Assert.Equal(load.Offset + last, elf.VirtualAddressToFileOffset(load.VirtualAddress + last));
            Assert.Equal(load.VirtualAddress + middle, elf.FileOffsetToVirtualAddress(load.Offset + middle));
            bool zeroFilledTail = load.MemorySize > load.FileSize &&
                !loads.Any(other => other.VirtualAddress == load.VirtualAddress + load.FileSize);
            if (zeroFilledTail)
                Assert.Null(elf.VirtualAddressToFileOffset(load.VirtualAddress + load.FileSize));
        }
        ulong beyond = loads.Max(l => l.VirtualAddress + l.MemorySize) + 0x100000;
        Assert.Null(elf.VirtualAddressToFileOffset(beyond));
        Assert.Null(elf.FileOffsetToVirtualAddress((ulong)new FileInfo(path).Length + 1));
    }

    [Theory]
    [InlineData(ElfInputs.Libc)]
    [InlineData(ElfInputs.StrippedPie)]
    [InlineData(ElfInputs.Program)]
    public void Build_id_matches_readelf(string input)
    {
        string path = ElfInputs.Resolve(input, programs, "readelf");
        string? expected = Readelf.BuildId(path);
        using var elf = ElfFile.Open(path);

        Assert.NotNull(expected);
        Assert.Equal(expected, elf.BuildId);
    }

    [Theory]
    [InlineData(ElfInputs.Libc)]
    [InlineData(ElfInputs.StrippedPie)]
    [InlineData(ElfInputs.Program)]
    public void Debug_link_matches_readelf(string input)
    {
        string path = ElfInputs.Resolve(input, programs, "readelf");
        var expected = Readelf.DebugLink(path);
        using var elf = ElfFile.Open(path);

        Assert.Equal(expected?.FileName, elf.DebugLink);
        Assert.Equal(expected?.Crc, elf.DebugLinkCrc);
    }

    [Fact]
    public void Uncompressed_section_is_the_file_bytes_at_its_offset()
    {
        string path = ElfInputs.Resolve(ElfInputs.Libc, programs);
        using var elf = ElfFile.Open(path);
        var section = elf.FindSection(".rodata");

        Assert.NotNull(section);
        var expected = new byte[section.Size];
        using (var stream = File.OpenRead(path))
        {
            stream.Position = (long)section.Offset;
            stream.ReadExactly(expected);
        }
        Assert.True(elf.ReadSection(section).SequenceEqual(expected));
        Assert.Equal(0, elf.ReadSection(elf.FindSection(".bss")!).Length);
    }

    private static string FlagLetters(ElfSegmentFlags flags) =>
        (flags.HasFlag(ElfSegmentFlags.Read) ? "R" : "") +
        (flags.HasFlag(ElfSegmentFlags.Write) ? "W" : "") +
        (flags.HasFlag(ElfSegmentFlags.Execute) ? "E" : "");
}
