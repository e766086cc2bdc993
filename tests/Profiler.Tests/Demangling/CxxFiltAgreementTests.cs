using System.Globalization;
using Profiler.Symbols.Demangling;
using Xunit.Abstractions;

namespace Profiler.Tests.Demangling;

/// <summary>Live comparison with GNU c++filt over every C++ symbol the system libstdc++ exports.</summary>
public sealed class CxxFiltAgreementTests(ITestOutputHelper output)
{
    private const double RequiredAgreement = 0.99;

    [Fact]
    public void Agrees_with_cxxfilt_on_every_libstdcxx_export()
    {
        var symbols = ExternalTools.DynamicCppSymbols(ExternalTools.LibStdCxx);
        Assert.True(symbols.Count > 1000, $"only {symbols.Count} C++ symbols found in {ExternalTools.LibStdCxx}");
        var expected = ExternalTools.CxxFilt(symbols);
        Assert.Equal(symbols.Count, expected.Count);

        int agreeing = 0;
        var disagreements = new List<string>();
        for (int i = 0; i < symbols.Count; i++)
        {
            string actual = Demangler.Demangle(symbols[i]);
            if (actual == expected[i])
            {
                agreeing++;
            }
            else if (disagreements.Count < 20)
            {
                disagreements.Add($"{symbols[i]}\n  c++filt: {expected[i]}\n  ours:    {actual}");
            }
        }

        double rate = (double)agreeing / symbols.Count;
        string summary = string.Create(
            CultureInfo.InvariantCulture,
            $"agreement with c++filt: {rate:P2} ({agreeing} of {symbols.Count} symbols)");
        output.WriteLine(summary);
        Assert.True(rate >= RequiredAgreement, summary + "\n" + string.Join("\n", disagreements));
    }
}
