namespace Profiler.Core.Analysis;

/// <summary>Whose code a frame is, as far as attributing an allocation goes.</summary>
public enum FrameKind
{
    /// <summary>The program's own code, its dependencies included: where an allocation's site is.</summary>
    Program,
    /// <summary>A language's standard library (Rust's std/core/alloc and what std vendors, C++'s
    /// libstdc++/libc++, libc): it allocates on its caller's behalf, so the site is the caller and
    /// these frames are the path the allocation went through ("via").</summary>
    Library,
    /// <summary>The allocator itself (see <see cref="AllocatorFrames"/>).</summary>
    Allocator,
}

/// <summary>
/// The one definition of whose code a frame is, used by every output that names a site (report,
/// TUI, checks, diff, pprof's drop_frames). People read a profile to change their own code: a site
/// named <c>&lt;alloc::vec::Vec&lt;u8&gt;&gt;::reserve</c> or <c>__alloc_dir</c> says what allocated
/// but not which of their calls did, so standard-library frames are passed through to the caller.
/// <para>
/// Evidence, strongest first: the allocator's own names; the module (libc.so.6, libstdc++.so…: a
/// standard library's shared object, whatever the names say); the source file, when debug info
/// gave one — Rust's standard library is built from <c>/rustc/&lt;hash&gt;/library/</c> and its
/// vendored crates (hashbrown, gimli…) from the release builders' <c>/rust/deps/</c> or
/// <c>/cargo/registry/</c>, C++ templates from <c>…/include/c++/</c>, so a file decides on its own
/// (a program's own <c>hashbrown</c> from <c>~/.cargo/registry</c> is the program's, a user's
/// specialization of <c>std::hash</c> in their file is theirs); without a file, the demangled
/// name's crate or namespace, and the names of libc functions that allocate for their caller
/// (for statically linked programs).
/// </para>
/// </summary>
public static class FrameClassifier
{
    public static FrameKind Classify(string function, string? file, string? modulePath)
    {
        if (AllocatorFrames.IsAllocator(function, file)) return FrameKind.Allocator;
        // The root of a stack cut short is no one's code: it is a site only when nothing else but
        // the allocator was captured.
        if (function == Model.CallTreeTables.TruncatedFunction && modulePath is null) return FrameKind.Library;
        if (modulePath is not null && IsStandardLibraryModule(ModuleName(modulePath))) return FrameKind.Library;
        if (!string.IsNullOrEmpty(file)) return IsStandardLibrarySource(file) ? FrameKind.Library : FrameKind.Program;
        return IsStandardLibraryName(function) ? FrameKind.Library : FrameKind.Program;
    }

    /// <summary>
    /// rustc's generated C <c>main</c>, which only calls <c>std::rt::lang_start</c> with the
    /// program's own <c>crate::main</c>: it has the program's module and no source, like a C
    /// program's main built without debug info, so only its callee tells them apart. The runtime's
    /// start-up allocations below it are std's own, not the program's.
    /// </summary>
    public static bool IsRustRuntimeEntry(string function, string callee) =>
        function == "main" && callee.StartsWith("std::rt::lang_start", StringComparison.Ordinal);

    static string ModuleName(string path)
    {
        int slash = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\'));
        return slash >= 0 ? path[(slash + 1)..] : path;
    }

    /// <summary>Shared objects of the C and C++ runtimes (and their Windows counterparts).</summary>
    public static bool IsStandardLibraryModule(string name)
    {
        foreach (var prefix in LibraryModulePrefixes)
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    static readonly string[] LibraryModulePrefixes =
    [
        "libc.so", "libc-2.", "libm.so", "libpthread.so", "libdl.so", "librt.so", "libresolv.so", "libnss_",
        "ld-linux", "ld-musl", "libc.musl", "libstdc++.so", "libc++.so", "libc++abi.so", "libgcc_s.so",
        "ucrtbase", "msvcrt", "msvcp", "vcruntime", "api-ms-win-crt",
    ];

    /// <summary>A source file of a standard library, by the paths its builds leave in debug info.</summary>
    public static bool IsStandardLibrarySource(string file)
    {
        string f = file.Replace('\\', '/');
        return f.StartsWith("/rustc/", StringComparison.Ordinal) ||
               // std's vendored dependencies as the Rust release builders' CARGO_HOME names them.
               f.StartsWith("/rust/deps/", StringComparison.Ordinal) ||
               f.StartsWith("/cargo/registry/", StringComparison.Ordinal) ||
               // -Zbuild-std and rust-src: the library built from the toolchain's own sources.
               f.Contains("/lib/rustlib/src/rust/library/", StringComparison.Ordinal) ||
               // libstdc++ (/usr/include/c++/12/bits/…) and libc++ (…/include/c++/v1/…) headers.
               f.Contains("/include/c++/", StringComparison.Ordinal);
    }

    /// <summary>Rust's standard library crates and those std vendors (and names when no file says).</summary>
    static readonly HashSet<string> RustStdCrates =
    [
        "std", "core", "alloc", "proc_macro", "test", "panic_unwind", "panic_abort", "unwind", "compiler_builtins",
        "hashbrown", "std_detect", "rustc_demangle", "addr2line", "gimli", "miniz_oxide", "adler", "adler2",
    ];

    /// <summary>C++'s standard library namespaces (libstdc++'s extensions and ABI namespaces too).</summary>
    static readonly HashSet<string> CxxStdNamespaces = ["std", "__gnu_cxx", "__cxxabiv1", "__gnu_debug"];

    /// <summary>libc functions that allocate on their caller's behalf, for programs that link libc
    /// statically (in a shared libc the module says it). glibc's internal names included.</summary>
    static readonly HashSet<string> LibcFunctions =
    [
        "opendir", "__opendir", "__alloc_dir", "fdopendir", "__fdopendir", "scandir", "scandir64", "__scandir64_tail", "scandirat",
        "strdup", "__strdup", "strndup", "__strndup", "wcsdup", "fopen", "fopen64", "_IO_new_fopen", "__fopen_internal",
        "fdopen", "_IO_new_fdopen", "fmemopen", "open_memstream", "open_wmemstream", "freopen", "tmpfile",
        "getline", "getdelim", "__getdelim", "_IO_getdelim", "asprintf", "___asprintf", "__asprintf", "vasprintf",
        "__vasprintf", "__vasprintf_internal", "realpath", "__realpath", "canonicalize_file_name", "tsearch", "__tsearch",
        "setlocale", "newlocale", "__newlocale", "duplocale", "qsort", "qsort_r", "__qsort_r", "msort_with_tmp",
        "backtrace_symbols", "__backtrace_symbols", "_IO_file_doallocate", "_IO_doallocbuf", "_IO_file_overflow",
        "_IO_new_file_overflow", "_IO_file_xsputn", "_IO_new_file_xsputn", "glob", "glob64", "regcomp", "wordexp",
        "getaddrinfo", "getpwnam", "getpwuid", "getgrnam", "getgrgid", "setenv", "putenv", "__add_to_environ",
        "dirname", "tzset", "localtime", "localtime_r", "__tz_convert", "dlopen", "dlerror",
    ];

    public static bool IsStandardLibraryName(string function)
    {
        string name = function.StartsWith("__GI_", StringComparison.Ordinal) ? function[5..] : function;
        if (LibcFunctions.Contains(WithoutClone(name))) return true;
        var segments = DemangledNames.FirstPathSegments(function).ToList();
        return segments.Count > 0 && segments.All(IsStandardLibraryCrateOrBuiltin) && segments.Any(s => s.Length > 0);
    }

    static string WithoutClone(string name)
    {
        int dot = name.IndexOf('.');
        return dot > 0 ? name[..dot] : name;
    }

    /// <summary>A standard library crate or namespace, or a name that belongs to no crate (a
    /// primitive type such as <c>str</c> or <c>[T]</c>, a generic parameter such as <c>T</c>).</summary>
    static bool IsStandardLibraryCrateOrBuiltin(string segment) =>
        segment.Length == 0 || RustStdCrates.Contains(segment) || CxxStdNamespaces.Contains(segment) || IsBuiltin(segment);

    static bool IsBuiltin(string segment) =>
        RustPrimitives.Contains(segment) || (segment.Length <= 2 && char.IsUpper(segment[0]) && segment.All(char.IsLetterOrDigit));

    static readonly HashSet<string> RustPrimitives =
    [
        "str", "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f16", "f32", "f64", "f128", "!", "dyn",
    ];
}
