using Profiler.Symbols.Demangling;

namespace Profiler.Tests.Demangling;

/// <summary>Garbage, truncated and hostile input: returned unchanged, never an exception or a stack overflow.</summary>
public sealed class MalformedInputTests
{
    [Theory]
    [InlineData("")]
    [InlineData("main")]
    [InlineData("_Z")]
    [InlineData("_ZN")]
    [InlineData("_ZNE")]
    [InlineData("_Z3")]
    [InlineData("_Z3foo.")]
    [InlineData("_Z99999999999999999999i")]
    [InlineData("_ZN3fooE3")]
    [InlineData("_ZSt")]
    [InlineData("_Z1fS_")]
    [InlineData("_Z1fIT_EvT0_")]
    [InlineData("_ZNK1AcvT_Ev")]
    [InlineData("_GLOBAL__I_")]
    [InlineData("_R")]
    [InlineData("_RN")]
    [InlineData("_RB_")]
    [InlineData("_RNvB0_3foo")]
    [InlineData("_RNvC3foo3bar!")]
    [InlineData("_RINvC3foo3barKc110000_E")]
    [InlineData("_RNvC3fooz99999999999999999999999_3bar")]
    [InlineData("_ZN3std2rt10lang_start17h0123456789abcdefE extra")]
    public void Returns_input_unchanged(string symbol)
    {
        Assert.Equal(symbol, Demangler.Demangle(symbol));
    }

    [Fact]
    public void Null_becomes_empty_rather_than_an_exception()
    {
        Assert.Equal(string.Empty, Demangler.Demangle(null!));
    }

    [Theory]
    [InlineData("_Z1f", "P", "i")]
    [InlineData("_Z1f", "PFv", "iE")]
    [InlineData("_Z1fIi", "IJ", "E")]
    [InlineData("_RINvC3foo3bar", "R", "hE")]
    [InlineData("_RINvC3foo3bar", "INtC3foo3Vec", "hE")]
    public void Deep_nesting_is_refused_without_exhausting_the_stack(string head, string repeated, string tail)
    {
        string symbol = head + string.Concat(Enumerable.Repeat(repeated, 50_000)) + tail;
        Assert.Equal(symbol, Demangler.Demangle(symbol));
    }

    [Fact]
    public void Exponential_substitutions_are_cut_off()
    {
        // S_ is std::pair and S0_ std::pair<int, int>; each step adds std::pair<Sn_, Sn_>, doubling
        // the printed text, so forty steps would print terabytes.
        var mangled = new System.Text.StringBuilder("_Z1fSt4pairIiiE");
        for (int step = 1; step <= 40; step++)
        {
            string previous = "S" + Base36(step - 1) + "_";
            mangled.Append("S_I").Append(previous).Append(previous).Append('E');
        }

        string symbol = mangled.ToString();
        Assert.Equal(symbol, Demangler.Demangle(symbol));
    }

    [Fact]
    public void Moderate_substitution_growth_is_still_printed()
    {
        string symbol = "_Z1fSt4pairIiiES_IS0_S0_E";
        Assert.Equal(
            "f(std::pair<int, int>, std::pair<std::pair<int, int>, std::pair<int, int> >)",
            Demangler.Demangle(symbol));
    }

    [Fact]
    public void Truncated_corpus_symbols_never_throw()
    {
        foreach (string fileName in new[] { CorpusFile.Itanium, CorpusFile.Rust })
        {
            foreach (var (mangled, _) in CorpusFile.Load(fileName))
            {
                for (int length = 0; length < mangled.Length; length++)
                {
                    string truncated = mangled[..length];
                    string result = Demangler.Demangle(truncated);
                    Assert.NotNull(result);
                }
            }
        }
    }

    [Fact]
    public void Truncated_names_that_cannot_be_complete_are_returned_unchanged()
    {
        // Cutting inside a length-prefixed identifier can never leave a valid name.
        Assert.Equal("_ZN3std2rt10lang_st", Demangler.Demangle("_ZN3std2rt10lang_st"));
        Assert.Equal("_RNvNtCs1234_7mycra", Demangler.Demangle("_RNvNtCs1234_7mycra"));
        Assert.Equal("_ZNKSt6vectorIiSaIiEE4si", Demangler.Demangle("_ZNKSt6vectorIiSaIiEE4si"));
    }

    [Fact]
    public void Randomly_mutated_corpus_symbols_never_throw()
    {
        var random = new Random(20240601);
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$.E";
        foreach (string fileName in new[] { CorpusFile.Itanium, CorpusFile.Rust })
        {
            foreach (var (mangled, _) in CorpusFile.Load(fileName))
            {
                for (int attempt = 0; attempt < 20; attempt++)
                {
                    char[] chars = mangled.ToCharArray();
                    chars[random.Next(2, chars.Length)] = alphabet[random.Next(alphabet.Length)];
                    Assert.NotNull(Demangler.Demangle(new string(chars)));
                }
            }
        }
    }

    private static string Base36(int value)
    {
        const string digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        string text = "";
        do
        {
            text = digits[value % 36] + text;
            value /= 36;
        }
        while (value > 0);
        return text;
    }
}
