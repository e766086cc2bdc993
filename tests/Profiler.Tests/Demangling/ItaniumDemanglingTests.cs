using Profiler.Symbols.Demangling;

namespace Profiler.Tests.Demangling;

/// <summary>Hand-picked C++ cases: everyday constructs, suffixes, and where we deliberately differ from c++filt 2.40.</summary>
public sealed class ItaniumDemanglingTests
{
    [Theory]
    [InlineData("_Z3foov", "foo()")]
    [InlineData("_ZN3foo3barEv", "foo::bar()")]
    [InlineData("_ZNKSt6vectorIiSaIiEE4sizeEv", "std::vector<int, std::allocator<int> >::size() const")]
    [InlineData("_Z3fooIiEvT_", "void foo<int>(int)")]
    [InlineData("_ZNSsC1Ev", "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string()")]
    [InlineData("_ZNSdD0Ev", "std::basic_iostream<char, std::char_traits<char> >::~basic_iostream()")]
    [InlineData("_Z1fPFivE", "f(int (*)())")]
    [InlineData("_Z1fRA3_i", "f(int (&) [3])")]
    [InlineData("_Z1fM1AFivE", "f(int (A::*)())")]
    [InlineData("_Z1fILi5EEvv", "void f<5>()")]
    [InlineData("_Z1fILj5EEvv", "void f<5u>()")]
    [InlineData("_Z1fILb1EEvv", "void f<true>()")]
    [InlineData("_Z1fILc97EEvv", "void f<(char)97>()")]
    [InlineData("_ZZ4mainE1x", "main::x")]
    [InlineData("_ZZ4mainENKUlvE_clEv", "main::{lambda()#1}::operator()() const")]
    [InlineData("_ZN12_GLOBAL__N_13fooEv", "(anonymous namespace)::foo()")]
    [InlineData("_ZTV3Foo", "vtable for Foo")]
    [InlineData("_ZTI3Foo", "typeinfo for Foo")]
    [InlineData("_ZTS3Foo", "typeinfo name for Foo")]
    [InlineData("_ZGVZ4mainE1x", "guard variable for main::x")]
    [InlineData("_ZThn8_N3Foo3barEv", "non-virtual thunk to Foo::bar()")]
    [InlineData("_ZTv0_n24_N3FooD1Ev", "virtual thunk to Foo::~Foo()")]
    [InlineData("_ZNKSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE4sizeEv", "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::size() const")]
    [InlineData("_ZN3FooB5cxx11Ev", "Foo[abi:cxx11]()")]
    public void Demangles_common_constructs(string mangled, string expected)
    {
        Assert.Equal(expected, Demangler.Demangle(mangled));
    }

    [Theory]
    [InlineData("_Z3foov.cold", "foo() [clone .cold]")]
    [InlineData("_Z3barIiEvT_.isra.0.cold", "void bar<int>(int) [clone .isra.0] [clone .cold]")]
    [InlineData("_ZN3FooC2Ev.constprop.0", "Foo::Foo() [clone .constprop.0]")]
    public void Shows_compiler_clone_suffixes(string mangled, string expected)
    {
        Assert.Equal(expected, Demangler.Demangle(mangled));
    }

    [Theory]
    [InlineData("_ZNSt6vectorIiSaIiEE9push_backERKi@plt", "std::vector<int, std::allocator<int> >::push_back(int const&)@plt")]
    [InlineData("_ZNKSt9exception4whatEv@@GLIBCXX_3.4", "std::exception::what() const@@GLIBCXX_3.4")]
    [InlineData("_ZdlPv@GLIBCXX_3.4", "operator delete(void*)@GLIBCXX_3.4")]
    public void Keeps_symbol_version_suffix_verbatim(string mangled, string expected)
    {
        Assert.Equal(expected, Demangler.Demangle(mangled));
    }

    [Fact]
    public void Templated_conversion_operator_resolves_its_own_parameters()
    {
        // binutils 2.40's c++filt gives up on this one; newer GNU releases print what we print.
        Assert.Equal(
            "A::operator std::pair<int, int><int, int>() const",
            Demangler.Demangle("_ZNK1AcvSt4pairIT_T0_EIiiEEv"));
    }

    [Fact]
    public void Demangles_names_longer_than_cxxfilt_accepts()
    {
        // c++filt refuses anything over 1024 characters for fear of its stack; a profiler still wants the name.
        string arguments = string.Concat(Enumerable.Repeat("N9namespace4TypeE", 80));
        string mangled = "_Z1f" + arguments;
        Assert.True(mangled.Length > 1024);

        string demangled = Demangler.Demangle(mangled);

        Assert.StartsWith("f(namespace::Type, namespace::Type, ", demangled);
        Assert.EndsWith("namespace::Type)", demangled);
    }
}
