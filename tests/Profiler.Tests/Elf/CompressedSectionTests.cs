using Profiler.Symbols.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Elf;

/// <summary>Compressed debug sections come back decompressed, checked against readelf's view of
/// the compression headers and against objcopy's own decompression of the same file.</summary>
[Collection(TestProgramCollection.Name)]
public sealed class CompressedSectionTests(TestProgram programs, ITestOutputHelper output)
{
    [Fact]
    public void Compressed_sections_decompress_to_the_size_in_their_header()
    {
        if (ElfInputs.Resolve(ElfInputs.CompressedProgram, programs, output, "readelf") is not { } path)
            return;
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
        if (ElfInputs.Resolve(ElfInputs.CompressedProgram, programs, output, "objcopy") is not { } path)
            return;
        AssertSameAsDecompressedCopy(path, section => section.IsCompressed, name => name);
    }

    [Fact]
    public void Old_style_zdebug_sections_decompress_to_what_objcopy_decompresses()
    {
        if (ElfInputs.Resolve(ElfInputs.Program, programs, output, "objcopy") is null)
            return;
        if (programs.GnuCompressed is not { } path)
        {
            output.WriteLine("SKIPPED: this linker cannot write .zdebug sections any more.");
            return;
        }
        AssertSameAsDecompressedCopy(path, section => section.Name.StartsWith(".zdebug", StringComparison.Ordinal),
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
