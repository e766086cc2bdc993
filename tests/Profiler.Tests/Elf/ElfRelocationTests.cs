using Profiler.Symbols.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Elf;

/// <summary>The dynamic relocations that name a symbol, checked row by row against readelf on
/// glibc, jemalloc, libstdc++, Debian's python3 (not PIE, lazily bound) and the samples (Rust,
/// bound at load; C, lazily bound).</summary>
public sealed class ElfRelocationTests(ITestOutputHelper output)
{
    public static TheoryData<string> Files() => new()
    {
        SystemTools.Libc, "/lib/x86_64-linux-gnu/libjemalloc.so.2", "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/bin/python3.11", "allocs-fp", "allocs-jemalloc-dyn", "stress", "idioms-fp", "rg",
    };

    /// <summary>A sample's path under samples/bin, or the file itself.</summary>
    public static string PathOf(string file) =>
        file.StartsWith('/') ? file : Path.Combine(RepoRoot.Path, "samples", "bin", file);

    [Theory]
    [MemberData(nameof(Files))]
    public void Symbol_relocations_match_readelf(string file)
    {
        string path = PathOf(file);
        SystemTools.Require(["readelf"], path);
        var expected = Readelf.DynamicRelocations(path)
            .Select(r => (r.Section, r.Offset, r.Type, r.Name, r.Version, r.Addend)).ToList();
        using var elf = ElfFile.Open(path);
        var actual = elf.ReadDynamicRelocations()
            .Select(r => (r.Section, r.Offset, r.Type, r.Symbol.Name, r.Symbol.Version, r.Addend)).ToList();

        output.WriteLine($"{actual.Count} relocations naming a symbol in {path}");
        Assert.True(expected.Count > 10, $"readelf printed only {expected.Count} rows for {path}");
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Relocations_against_a_defined_symbol_carry_its_default_version()
    {
        SystemTools.Require(["readelf"], SystemTools.Libc);
        using var elf = ElfFile.Open(SystemTools.Libc);
        var free = elf.ReadDynamicRelocations().Single(r => r.Symbol.Name == "free");

        // readelf: "R_X86_64_GLOB_DAT ... free@@GLIBC_2.2.5 + 0": glibc calls its own free through the GOT.
        var row = Readelf.DynamicRelocations(SystemTools.Libc).Single(r => r.Name == "free");
        Assert.Equal((row.Offset, 6u, "GLIBC_2.2.5"), (free.Offset, free.Type, free.Symbol.Version));
        Assert.True(free.Symbol.IsDefined);
        Assert.False(free.Symbol.IsHiddenVersion);
    }
}
