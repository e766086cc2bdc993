using Profiler.Tests.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Dwarf;

/// <summary>The Rust samples (rustc's DWARF 4: line tables, functions and inlined calls, no
/// types), checked address by address against addr2line and llvm-symbolizer.</summary>
public sealed class RustSampleSymbolizationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("allocs-fp")]
    [InlineData("allocs-nofp")]
    public void Every_sampled_address_agrees_with_the_oracles(string sample)
    {
        SystemTools.Require(SymbolizerAgreement.Tools);
        string path = SamplePath(sample);
        SymbolizerAgreement.AssertAgree(path, SymbolizerAgreement.SampleAddresses(path, 400), output);
    }

    [Fact]
    public void Sample_without_debug_information_is_named_from_its_symbols_alone()
    {
        SystemTools.Require(SymbolizerAgreement.Tools);
        string path = SamplePath("allocs-nofp-nodebug");
        SymbolizerAgreement.AssertAgree(path, SymbolizerAgreement.SampleAddresses(path, 300), output, expectDebugInfo: false);
    }

    internal static string SamplePath(string sample)
    {
        string path = Path.Combine(RepoRoot.Path, "samples", "bin", sample);
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: run samples/build.sh first");
    }
}
