using Profiler.Symbols.Demangling;

namespace Profiler.Tests.Demangling;

/// <summary>The committed C++ corpus, whose expectations were produced by c++filt.</summary>
public sealed class ItaniumCorpusTests
{
    public static TheoryData<string, string> Corpus => CorpusFile.AsTheoryData(CorpusFile.Itanium);

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Matches_cxxfilt_output(string mangled, string expected)
    {
        Assert.Equal(expected, Demangler.Demangle(mangled));
    }

    [Fact]
    public void Corpus_is_large_enough_to_mean_something()
    {
        Assert.True(CorpusFile.Load(CorpusFile.Itanium).Count >= 300);
    }
}
