using Profiler.Core.Analysis;

namespace Profiler.Tests.Analysis;

/// <summary>Whose code a frame is: names as our demanglers print them and paths as rustc, GCC and
/// Clang leave them in debug info.</summary>
public sealed class FrameClassifierTests
{
    const string RustcLibrary = "/rustc/59807616e1fa2b0b1bd9a8fa3fb55e0c59a5bf46/library";
    const string App = "/opt/app/bin/app";
    const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    const string LibStdCxx = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30";

    public static TheoryData<string, string?, string?, FrameKind> Frames() => new()
    {
        // Rust's standard library by its demangled crate path (v0 and legacy), no debug info.
        { "<alloc::vec::Vec<u8>>::reserve", null, App, FrameKind.Library },
        { "alloc::vec::Vec<T,A>::push_mut", null, App, FrameKind.Library },
        { "alloc::boxed::box_new_uninit", null, App, FrameKind.Library },
        { "<T as alloc::slice::hack::ConvertVec>::to_vec", null, App, FrameKind.Library },
        { "<alloc::string::String as core::clone::Clone>::clone", null, App, FrameKind.Library },
        { "<str as alloc::string::ToString>::to_string", null, App, FrameKind.Library },
        { "<[u8]>::to_vec", null, App, FrameKind.Library },
        { "<&mut alloc::vec::Vec<u8> as std::io::Write>::write_all", null, App, FrameKind.Library },
        { "<hashbrown::raw::RawTable<(u32, alloc::string::String)>>::reserve_rehash", null, App, FrameKind.Library },
        { "std::thread::Builder::spawn_unchecked_::{{closure}}", null, App, FrameKind.Library },
        { "std::sys::backtrace::__rust_begin_short_backtrace", null, App, FrameKind.Library },
        { "<std_detect::detect::cache::Cache>::initialize", null, App, FrameKind.Library },
        // By the file rustc's builders compiled it from, whatever the name.
        { "alloc::vec::Vec<T,A>::with_capacity_in", $"{RustcLibrary}/alloc/src/vec/mod.rs", App, FrameKind.Library },
        { "core::iter::traits::iterator::Iterator::fold", $"{RustcLibrary}/core/src/iter/traits/iterator.rs", App, FrameKind.Library },
        { "hashbrown::raw::RawTable<T,A>::reserve_rehash", "/rust/deps/hashbrown-0.15.5/src/raw/mod.rs", App, FrameKind.Library },
        { "hashbrown::raw::RawTableInner::fallible_with_capacity",
            "/cargo/registry/src/index.crates.io-6f17d22bba15001f/hashbrown-0.14.5/src/raw/mod.rs", App, FrameKind.Library },
        { "<std_detect::detect::cache::Cache>::initialize", $"{RustcLibrary}/stdarch/crates/std_detect/src/detect/cache.rs", App, FrameKind.Library },
        // A program's own hashbrown from crates.io is the program's, though the name is the same.
        { "hashbrown::raw::RawTable<T,A>::reserve_rehash",
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/hashbrown-0.15.2/src/raw/mod.rs", App, FrameKind.Program },
        { "allocs::load_index", "src/main.rs", App, FrameKind.Program },
        { "allocs::load_index", null, App, FrameKind.Program },
        { "<myapp::Config as core::clone::Clone>::clone", null, App, FrameKind.Program },
        { "<T as myapp::codec::Encode>::encode", null, App, FrameKind.Program },
        { "<alloc::vec::Vec<u8> as myapp::codec::Encode>::encode", null, App, FrameKind.Program },
        { "main", null, App, FrameKind.Program },
        { "app+0x1f2e3", null, App, FrameKind.Program },
        // C++: std:: and __gnu_cxx:: names, libstdc++'s module, templates from the headers.
        { "void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(__gnu_cxx::__normal_iterator<int*, " +
          "std::vector<int, std::allocator<int> > >, int const&)", null, App, FrameKind.Library },
        { "void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(__gnu_cxx::__normal_iterator<int*, " +
          "std::vector<int, std::allocator<int> > >, int const&)", "/usr/include/c++/12/bits/vector.tcc", App, FrameKind.Library },
        { "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::_M_mutate(unsigned long, unsigned long, " +
          "char const*, unsigned long)", "../../../../../libstdc++-v3/include/bits/basic_string.tcc", LibStdCxx, FrameKind.Library },
        { "std::__1::vector<int, std::__1::allocator<int> >::__push_back_slow_path<int>(int&&)",
            "/usr/lib/llvm-14/bin/../include/c++/v1/vector", App, FrameKind.Library },
        { "__gnu_cxx::new_allocator<char>::construct(char*, char const&)", null, App, FrameKind.Library },
        { "std::basic_ostream<char, std::char_traits<char> >& std::operator<< <std::char_traits<char> >(std::basic_ostream<char, " +
          "std::char_traits<char> >&, char const*)", null, App, FrameKind.Library },
        // A user's specialization of a std template is in the user's file.
        { "std::hash<Point>::operator()(Point const&) const", "/home/dev/geo/point.h", App, FrameKind.Program },
        { "(anonymous namespace)::Parser::parse(char const*)", null, App, FrameKind.Program },
        { "Parser::parse(std::vector<int, std::allocator<int> > const&)", null, App, FrameKind.Program },
        { "void app::load<std::vector<int, std::allocator<int> > >(std::vector<int, std::allocator<int> >&)", null, App, FrameKind.Program },
        { "main::{lambda()#1}::operator()() const", null, App, FrameKind.Program },
        { "operator new(unsigned long)", null, LibStdCxx, FrameKind.Allocator },
        { "std::__new_allocator<int>::allocate(unsigned long, void const*)", "/usr/include/c++/12/bits/new_allocator.h", App, FrameKind.Allocator },
        { "std::allocator_traits<std::allocator<int> >::allocate(std::allocator<int>&, unsigned long)", null, App, FrameKind.Allocator },
        { "std::allocator<int>::allocator()", null, App, FrameKind.Library },
        // libc allocating for its caller: in libc.so.6 whatever the name, and by name when linked in.
        { "__alloc_dir", "./dirent/../sysdeps/unix/sysv/linux/opendir.c", Libc, FrameKind.Library },
        { "opendir", null, Libc, FrameKind.Library },
        { "__libc_start_call_main", null, Libc, FrameKind.Library },
        { "libc.so.6+0x8a3f0", null, Libc, FrameKind.Library },
        { "opendir", null, App, FrameKind.Library },
        { "__GI___strdup", null, App, FrameKind.Library },
        { "_IO_file_doallocate.cold", null, App, FrameKind.Library },
        { "malloc", null, Libc, FrameKind.Allocator },
        { "alloc::raw_vec::finish_grow", $"{RustcLibrary}/alloc/src/raw_vec/mod.rs", App, FrameKind.Allocator },
        { "hashbrown::raw::alloc::inner::do_alloc", "/rust/deps/hashbrown-0.16.1/src/raw/alloc.rs", App, FrameKind.Allocator },
        // The root of a cut stack is no one's code.
        { "[truncated]", null, null, FrameKind.Library },
    };

    [Theory]
    [MemberData(nameof(Frames))]
    public void Frames_are_classified_by_module_file_and_name(string function, string? file, string? module, FrameKind expected) =>
        Assert.Equal(expected, FrameClassifier.Classify(function, file, module));

    public static TheoryData<string, string> Names() => new()
    {
        { "<alloc::vec::Vec<u8>>::reserve", "Vec::reserve" },
        { "alloc::vec::Vec<T,A>::push_mut", "Vec::push_mut" },
        { "<alloc::vec::Vec<u8>>::with_capacity_in", "Vec::with_capacity_in" },
        { "alloc::boxed::box_new_uninit", "boxed::box_new_uninit" },
        { "<T as alloc::slice::hack::ConvertVec>::to_vec", "ConvertVec::to_vec" },
        { "<alloc::string::String as core::clone::Clone>::clone", "String::clone" },
        { "<str as alloc::string::ToString>::to_string", "str::to_string" },
        { "<hashbrown::raw::RawTable<(u32, alloc::string::String)>>::reserve_rehash", "RawTable::reserve_rehash" },
        { "std::thread::Builder::spawn_unchecked_::{{closure}}", "Builder::spawn_unchecked_" },
        { "<std::io::buffered::bufreader::BufReader<R>>::with_capacity::{closure#0}", "BufReader::with_capacity" },
        { "alloc::fmt::format::format_inner", "format::format_inner" },
        { "void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(__gnu_cxx::__normal_iterator<int*, " +
          "std::vector<int, std::allocator<int> > >, int const&)", "vector::_M_realloc_insert" },
        { "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::_M_mutate(unsigned long, unsigned long, " +
          "char const*, unsigned long)", "basic_string::_M_mutate" },
        { "__GI___strdup", "__strdup" },
        { "opendir", "opendir" },
        { "_IO_file_doallocate.cold", "_IO_file_doallocate" },
        // DWARF names an inlined template instance without its namespace.
        { "operator+<char, std::char_traits<char>, std::allocator<char> >", "operator+" },
        { "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > std::operator+<char, std::char_traits<char>, " +
          "std::allocator<char> >(char const*, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >&&)", "std::operator+" },
        { "std::map<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >, int, std::less<std::__cxx11::basic_string<" +
          "char, std::char_traits<char>, std::allocator<char> > >, std::allocator<std::pair<std::__cxx11::basic_string<char, " +
          "std::char_traits<char>, std::allocator<char> > const, int> > >::operator[](std::__cxx11::basic_string<char, " +
          "std::char_traits<char>, std::allocator<char> >&&)", "map::operator[]" },
        { "bool std::operator< <char>(std::basic_string<char> const&, std::basic_string<char> const&)", "std::operator<" },
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Via_names_are_shortened_to_type_and_method(string function, string expected) =>
        Assert.Equal(expected, ShortNames.Of(function));
}
