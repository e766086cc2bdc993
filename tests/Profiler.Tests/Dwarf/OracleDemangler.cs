using System.Text.RegularExpressions;

namespace Profiler.Tests.Dwarf;

/// <summary>c++filt, with what it prints beyond addr2line -C (and memprof, which follows
/// rustc-demangle's alternate form) taken off: Rust's legacy hash and v0 crate disambiguators,
/// and ELF symbol versions ("@@GLIBC_2.2.5").</summary>
internal static partial class OracleDemangler
{
    public const string Tool = "c++filt";

    public static string[] Demangle(IReadOnlyCollection<string> names)
    {
        if (names.Count == 0)
            return [];
        var demangled = OracleProcess.Run(Tool, [], names);
        return [.. demangled.Take(names.Count).Select(Clean)];
    }

    private static string Clean(string name)
    {
        int version = name.IndexOf('@');
        if (version > 0)
            name = name[..version];
        return RustCrateHash().Replace(RustHash().Replace(name, ""), "");
    }

    [GeneratedRegex("::h[0-9a-f]{16}$")]
    private static partial Regex RustHash();

    [GeneratedRegex(@"\[[0-9a-f]{1,16}\]")]
    private static partial Regex RustCrateHash();
}
