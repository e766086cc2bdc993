using Profiler.Symbols.Elf;

namespace Profiler.Tests.Elf;

/// <summary>Compressed debug sections come back decompressed, checked against readelf's view of
/// the compression headers and against objcopy's own decompression of the same file.</summary>
[Collection(TestProgramCollection.Name)]
public sealed class CompressedSectionTests(TestProgram programs)
{
    [Fact]
    public void Compressed_sections_decompress_to_the_size_in_their_header()
    {
        string path = ElfInputs.Resolve(ElfInputs.CompressedProgram, programs, "readelf");
        var sizes = Readelf.CompressedSizes(path);
        using var elf = ElfFile.Open(path);

        Assert.Contains(".debug_info", sizes.Keys);
        Assert.Equal(sizes.Keys.Order(), elf.Sections.Where(s => s.IsCompressed).Select(s => s.Name).Order());
        foreach (var (name, size) in sizes)
        {
            var section = elf.FindSection(name)!;
            Assert.True(size > section.Size, $"{name} should be smaller in the file than decompressed");
            Assert.Equal(size, (ulong)elf.ReadSection(section).Length);
        }
    }

    [Fact]
    public void Compressed_sections_decompress_to_what_objcopy_decompresses()
    {
        string path = ElfInputs.Resolve(ElfInputs.CompressedProgram, programs, "objcopy");
        AssertSameAsDecompressedCopy(path, section => section.IsCompressed, name => name);
    }

    [Fact]
    public void Old_style_zdebug_sections_decompress_to_what_objcopy_decompresses()
    {
        SystemTools.Require(["objcopy"]);
        AssertSameAsDecompressedCopy(programs.GnuCompressed, section => section.Name.StartsWith(".zdebug", StringComparison.Ordinal),
            name => ".debug" + name[".zdebug".Length..]);
    }

    private static void AssertSameAsDecompressedCopy(string path, Func<ElfSection, bool> isCompressed,
        Func<string, string> decompressedName)
    {
        string copy = path + ".decompressed";
        SystemTools.Run("objcopy", "--decompress-debug-sections", path, copy);
        using var elf = ElfFile.Open(path);
        using var reference = ElfFile.Open(copy);

        var compressed = elf.Sections.Where(isCompressed).ToList();
        Assert.Contains(compressed, s => s.Name.EndsWith("debug_info", StringComparison.Ordinal));
        foreach (var section in compressed)
        {
            var expected = reference.FindSection(decompressedName(section.Name));
            Assert.NotNull(expected);
            Assert.False(expected.IsCompressed);
            Assert.True(elf.ReadSection(section).SequenceEqual(reference.ReadSection(expected)), section.Name);
        }
    }
}
