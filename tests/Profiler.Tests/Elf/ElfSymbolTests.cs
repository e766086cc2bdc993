using System.Diagnostics;
using Profiler.Symbols.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Elf;

/// <summary>Symbols and function lookup, checked against nm and readelf.</summary>
[Collection(TestProgramCollection.Name)]
public sealed class ElfSymbolTests(TestProgram programs, ITestOutputHelper output)
{
    private static readonly string[] Allocators =
        ["malloc", "free", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
         "reallocarray"];

    [Theory]
    [InlineData(ElfInputs.Libc, true)]
    [InlineData(ElfInputs.Libc, false)]
    [InlineData(ElfInputs.StrippedPie, true)]
    [InlineData(ElfInputs.StrippedPie, false)]
    [InlineData(ElfInputs.Program, true)]
    [InlineData(ElfInputs.Program, false)]
    public void Defined_functions_match_nm(string input, bool dynamic)
    {
        string path = ElfInputs.Resolve(input, programs, "nm");
        var expected = Nm.DefinedFunctions(path, dynamic)
            .Select(f => (dynamic ? f.BaseName : f.Name, f.Address, f.Size)).ToHashSet();
        using var elf = ElfFile.Open(path);
        var actual = elf.ReadSymbols()
            .Where(s => s.FromDynamic == dynamic && s.IsFunction && s.IsDefined)
            .Select(s => (s.Name, s.Value, s.Size)).ToHashSet();

        output.WriteLine($"{expected.Count} defined functions in {(dynamic ? ".dynsym" : ".symtab")}");
        Assert.Equal(expected.Order(), actual.Order());
    }

    [Fact]
    public void Dynamic_symbol_versions_match_nm()
    {
        string path = ElfInputs.Resolve(ElfInputs.Libc, programs, "nm");
        var expected = Nm.DefinedFunctions(path, dynamic: true)
            .Select(f => (f.BaseName, f.Address, f.Version, f.IsDefaultVersion)).ToHashSet();
        using var elf = ElfFile.Open(path);
        var actual = elf.ReadSymbols()
            .Where(s => s.FromDynamic && s.IsFunction && s.IsDefined)
            .Select(s => (s.Name, s.Value, s.Version, s.Version is not null && !s.IsHiddenVersion)).ToHashSet();

        Assert.Contains(expected, f => !f.IsDefaultVersion);
        Assert.Equal(expected.Order(), actual.Order());
    }

    [Fact]
    public void Allocator_functions_are_found_in_libc_at_the_addresses_nm_reports()
    {
        string path = ElfInputs.Resolve(ElfInputs.Libc, programs, "nm");
        var exported = Nm.DefinedFunctions(path, dynamic: true);
        using var elf = ElfFile.Open(path);
        var found = SymbolTable.Create(elf).FindFunctions(Allocators);

        foreach (var name in Allocators)
        {
            var expected = exported.Where(f => f.BaseName == name).OrderBy(f => !f.IsDefaultVersion).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected.Select(f => f.Address).Distinct(), found.Where(f => f.Name == name).Select(f => f.Address));
            output.WriteLine($"{name} at 0x{expected[0].Address:x}, file offset 0x{elf.VirtualAddressToFileOffset(expected[0].Address):x}");
        }
    }

    [Theory]
    [InlineData(ElfInputs.Libc)]
    [InlineData(ElfInputs.StrippedPie)]
    [InlineData(ElfInputs.Program)]
    public void Lookup_just_inside_a_function_finds_that_function(string input)
    {
        string path = ElfInputs.Resolve(input, programs, "nm");
        var functions = Nm.DefinedFunctions(path, dynamic: false).Concat(Nm.DefinedFunctions(path, dynamic: true))
            .Where(f => f.Size >= 2).ToList();
        var aliases = functions.ToLookup(f => f.Address, f => f.BaseName);
        var distinct = functions.DistinctBy(f => f.Address).OrderBy(f => f.Address).ToList();
        int sampleSize = Math.Min(500, distinct.Count);
        var sample = Enumerable.Range(0, sampleSize).Select(i => distinct[i * distinct.Count / sampleSize]).ToList();
        using var elf = ElfFile.Open(path);
        var table = SymbolTable.Create(elf);

        foreach (var function in sample)
        {
            Assert.True(table.TryLookup(function.Address + 1, out var hit), $"0x{function.Address + 1:x}");
            Assert.Equal(function.Address, hit.Start);
            Assert.Equal(1UL, hit.Offset);
            Assert.Contains(hit.Name, aliases[function.Address]);
        }
        output.WriteLine($"looked up {sample.Count} of {distinct.Count} functions");
    }

    [Theory]
    [InlineData(ElfInputs.Libc)]
    [InlineData(ElfInputs.FixedAddressProgram)]
    public void Function_file_offsets_agree_with_the_section_layout(string input)
    {
        string path = ElfInputs.Resolve(input, programs, "nm", "readelf");
        var sections = Readelf.Sections(path).Where(s => s.Flags.Contains('X')).ToList();
        using var elf = ElfFile.Open(path);

        foreach (var function in Nm.DefinedFunctions(path, dynamic: true).Concat(Nm.DefinedFunctions(path, dynamic: false)))
        {
            var section = sections.Single(s => function.Address >= s.Address && function.Address < s.Address + s.Size);
            Assert.Equal(section.Offset + (function.Address - section.Address),
                elf.VirtualAddressToFileOffset(function.Address));
        }
    }

    [Fact]
    public void Test_program_symbols_have_the_expected_shapes()
    {
        string path = ElfInputs.Resolve(ElfInputs.Program, programs);
        using var elf = ElfFile.Open(path);
        var symbols = elf.ReadSymbols().Where(s => !s.FromDynamic && s.IsDefined)
            .GroupBy(s => s.Name).ToDictionary(g => g.Key, g => g.First());
        var table = SymbolTable.Create(elf);

        Assert.True(elf.HasSymtab);
        Assert.Equal(ElfSymbolBinding.Local, symbols["local_helper"].Binding);
        Assert.Equal(ElfSymbolBinding.Weak, symbols["weak_function"].Binding);
        Assert.Equal(ElfSymbolType.IFunc, symbols["dispatch"].Type);
        Assert.Equal(0UL, symbols["unsized_function"].Size);
        Assert.Equal(symbols["global_function"].Value, symbols["alias_function"].Value);

        Assert.True(table.TryLookup(symbols["global_function"].Value + 1, out var aliased));
        Assert.Equal("alias_function", aliased.Name);
        Assert.True(table.TryLookup(symbols["unsized_function"].Value + 3, out var unsized));
        Assert.Equal("unsized_function", unsized.Name);
        Assert.Equal(3UL, unsized.Offset);

        var found = table.FindFunctions(TestProgram.FunctionNames.Append("malloc"));
        Assert.Equal(TestProgram.FunctionNames.Order(), found.Select(f => f.Name).Order());
        Assert.All(found, f => Assert.Equal(symbols[f.Name].Value, f.Address));
    }

    [Fact]
    public void Opening_libc_and_building_its_symbol_table_takes_milliseconds()
    {
        string path = ElfInputs.Resolve(ElfInputs.Libc, programs);
        using (var warmUp = ElfFile.Open(path))
            SymbolTable.Create(warmUp);

        var clock = Stopwatch.StartNew();
        using var elf = ElfFile.Open(path);
        var table = SymbolTable.Create(elf);
        clock.Stop();

        output.WriteLine($"open + symbol table for {path}: {clock.Elapsed.TotalMilliseconds:F2} ms, {table.Count} functions");
        Assert.True(table.Count > 1000);
    }
}
