using Profiler.Symbols.Demangling;

namespace Profiler.Tests.Demangling;

/// <summary>Rust legacy and v0 symbols, expected in rustc-demangle's alternate ("{:#}") form.</summary>
public sealed class RustDemanglingTests
{
    public static TheoryData<string, string> Corpus => CorpusFile.AsTheoryData(CorpusFile.Rust);

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Matches_corpus(string mangled, string expected)
    {
        Assert.Equal(expected, Demangler.Demangle(mangled));
    }

    [Theory]
    [InlineData("_ZN3std2rt10lang_start17h0123456789abcdefE", "std::rt::lang_start")]
    [InlineData("_ZN71_$LT$Test$u20$$u2b$$u20$$u27$static$u20$as$u20$foo..Bar$LT$Test$GT$$GT$3bar17h0123456789abcdefE", "<Test + 'static as foo::Bar<Test>>::bar")]
    [InlineData("_ZN35Bar$LT$$u5b$u32$u3b$$u20$4$u5d$$GT$3foo17h0123456789abcdefE", "Bar<[u32; 4]>::foo")]
    [InlineData("_ZN13_$LT$test$GT$4test17h0123456789abcdefE", "<test>::test")]
    [InlineData("_ZN28_$u7b$$u7b$closure$u7d$$u7d$3foo17h0123456789abcdefE", "{{closure}}::foo")]
    [InlineData("_ZN8$RF$test4foob17h0123456789abcdefE", "&test::foob")]
    [InlineData("_ZN12test$BP$test4foob17h0123456789abcdefE", "test*test::foob")]
    [InlineData("_ZN5$SP$a3foo17h0123456789abcdefE", "@a::foo")]
    [InlineData("_ZN16foo$LP$a$C$b$RP$3bar17h0123456789abcdefE", "foo(a,b)::bar")]
    [InlineData("_ZN9$u7e$test3foo17h0123456789abcdefE", "~test::foo")]
    [InlineData("_ZN7legdemo12_$ufc$nicode13gr$uf6$$udf$e17h9a191b06bf539412E", "legdemo::ünicode::größe")]
    [InlineData("_ZN3foo3bar17h0123456789abcdefE.llvm.1234ABCD", "foo::bar")]
    [InlineData("_ZN3foo3bar17h0123456789abcdefE.cold", "foo::bar.cold")]
    public void Legacy_symbols_lose_their_hash(string mangled, string expected)
    {
        Assert.Equal(expected, Demangler.Demangle(mangled));
    }

    [Theory]
    [InlineData("_RNvC6_123foo3bar", "123foo::bar")]
    [InlineData("_RNCNCNgCs6DXkGYLi8lr_2cc5spawn00B5_", "cc::spawn::{closure#0}::{closure#0}")]
    [InlineData(
        "_RNCINkXs25_NgCsbmNqQUJIY6D_4core5sliceINyB9_4IterhENuNgNoBb_4iter8iterator8Iterator9rpositionNCNgNpB9_6memchr7memrchrs_0E0Bb_",
        "<core::slice::Iter<u8> as core::iter::iterator::Iterator>::rposition::<core::slice::memchr::memrchr::{closure#1}>::{closure#0}")]
    [InlineData(
        "_RINbNbCskIICzLVDPPb_5alloc5alloc8box_freeDINbNiB4_5boxed5FnBoxuEp6OutputuEL_ECs1iopQbuBiw2_3std",
        "alloc::alloc::box_free::<dyn alloc::boxed::FnBox<(), Output = ()>>")]
    [InlineData("_RMC0INtC8arrayvec8ArrayVechKj7b_E", "<arrayvec::ArrayVec<u8, 123>>")]
    [InlineData("_RNvNvMCs4fqI2P2rA04_13const_genericINtB4_3FooKpE3foo3FOO", "<const_generic::Foo<_>>::foo::FOO")]
    [InlineData("_RNvNvMCs4fqI2P2rA04_13const_genericINtB4_3FooKb1_E3foo3FOO", "<const_generic::Foo<true>>::foo::FOO")]
    [InlineData("_RNvNvMCs4fqI2P2rA04_13const_genericINtB4_3FooKc76_E3foo3FOO", "<const_generic::Foo<'v'>>::foo::FOO")]
    [InlineData("_RNvNvMCs4fqI2P2rA04_13const_genericINtB4_3FooKanb_E3foo3FOO", "<const_generic::Foo<-11>>::foo::FOO")]
    [InlineData("_RNqCs4fqI2P2rA04_11utf8_identsu30____7hkackfecea1cbdathfdh9hlq6y", "utf8_idents::საჭმელად_გემრიელი_სადილი")]
    [InlineData("_RINvNtC3std3mem8align_ofFG0_RL1_hRL0_tEuE", "std::mem::align_of::<for<'a, 'b> fn(&'a u8, &'b u16)>")]
    [InlineData(
        "_RINvNtC3std3mem8align_ofDG0_INtNtNtC4core3ops8function2FnTRL1_hRL0_tEEp6OutputuEL_E",
        "std::mem::align_of::<dyn for<'a, 'b> core::ops::function::Fn<(&'a u8, &'b u16), Output = ()>>")]
    [InlineData("_RINvNtC3std3mem8align_ofFUKCEuE", "std::mem::align_of::<unsafe extern \"C\" fn()>")]
    [InlineData("_RINvNtC3std3mem8align_ofFK8C_unwindEuE", "std::mem::align_of::<extern \"C-unwind\" fn()>")]
    [InlineData("_RINvNtC3std3mem8align_ofFUEmE", "std::mem::align_of::<unsafe fn() -> u32>")]
    [InlineData("_RINvNtC3std3mem8align_ofTlEE", "std::mem::align_of::<(i32,)>")]
    [InlineData("_RINvNtC3std3mem8align_ofAhj4_E", "std::mem::align_of::<[u8; 4]>")]
    [InlineData("_RINvNtC3std3mem8align_ofPOReE", "std::mem::align_of::<*const *mut &str>")]
    [InlineData("_RINvCsh07zGCjmS9E_7v0extra8with_strKRe68690a22746865726522_EB2_", "v0extra::with_str::<\"hi\\n\\\"there\\\"\">")]
    [InlineData("_RINvCsh07zGCjmS9E_7v0extra8with_bigKoffffffffffffffffffffffffffffffff_EB2_", "v0extra::with_big::<0xffffffffffffffffffffffffffffffff>")]
    [InlineData("_RNvNtCs1234_7mycrate3foo3bar.llvm.ABC123", "mycrate::foo::bar")]
    [InlineData("_RNvNtCs1234_7mycrate3foo3bar.cold.1", "mycrate::foo::bar.cold.1")]
    public void V0_symbols_print_like_rustc_demangle_alternate_form(string mangled, string expected)
    {
        Assert.Equal(expected, Demangler.Demangle(mangled));
    }

    [Fact]
    public void Legacy_path_without_hash_is_left_to_the_cpp_demangler()
    {
        // Without the hash this could be either language; both read it the same way.
        Assert.Equal("foo::bar", Demangler.Demangle("_ZN3foo3barE"));
    }
}
