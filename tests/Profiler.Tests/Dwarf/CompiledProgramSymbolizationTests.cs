using Profiler.Tests.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Dwarf;

/// <summary>Programs built by gcc and clang in several DWARF flavours, checked address by address
/// against addr2line and llvm-symbolizer.</summary>
[Collection(CompiledProgramsCollection.Name)]
public sealed class CompiledProgramSymbolizationTests(CompiledPrograms programs, ITestOutputHelper output)
{
    [Theory]
    [InlineData(CompiledPrograms.CDwarf5)]
    [InlineData(CompiledPrograms.CDwarf4)]
    [InlineData(CompiledPrograms.CxxDwarf5)]
    [InlineData(CompiledPrograms.CxxDwarf4)]
    [InlineData(CompiledPrograms.CxxCompressed)]
    [InlineData(CompiledPrograms.CxxDwarf4Compressed)]
    [InlineData(CompiledPrograms.CxxGnuCompressed)]
    [InlineData(CompiledPrograms.CxxClang)]
    [InlineData(CompiledPrograms.CClangDwarf4)]
    public void Every_sampled_address_agrees_with_the_oracles(string variant)
    {
        SystemTools.Require(SymbolizerAgreement.Tools);
        string path = programs.Programs[variant];
        var addresses = SymbolizerAgreement.SampleAddresses(path, 300);
        SymbolizerAgreement.AssertAgree(path, addresses, output);
    }
}
