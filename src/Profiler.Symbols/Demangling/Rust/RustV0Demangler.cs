namespace Profiler.Symbols.Demangling.Rust;

/// <summary>
/// Rust's v0 mangling (RFC 2603): _R &lt;path&gt; [&lt;instantiating crate&gt;] [.suffix]. Output follows
/// rustc-demangle's alternate form: no crate disambiguator hashes and no type suffixes on constants.
/// </summary>
internal static class RustV0Demangler
{
    private const string LlvmSuffixMarker = ".llvm.";

    public static bool LooksMangled(string symbol) => symbol.StartsWith("_R", StringComparison.Ordinal);

    public static string? TryDemangle(string symbol)
    {
        string name = StripLlvmSuffix(symbol);
        if (name.Length < 3 || !char.IsAsciiLetterUpper(name[2]))
        {
            return null;
        }

        foreach (char c in name)
        {
            if (!char.IsAscii(c))
            {
                return null;
            }
        }

        var printer = new V0Printer(name[2..]);
        var (demangled, suffix) = printer.PrintSymbol();
        if (demangled is null)
        {
            return null;
        }

        // Codegen may append ".cold", ".exit.i" and the like; they are kept as is.
        if (suffix.Length > 0 && (suffix[0] != '.' || suffix.Any(c => c is <= ' ' or >= '\x7f')))
        {
            return null;
        }

        return demangled + suffix;
    }

    private static string StripLlvmSuffix(string symbol)
    {
        // ThinLTO renames local symbols by appending .llvm.<hex>; it is noise to a reader.
        int marker = symbol.IndexOf(LlvmSuffixMarker, StringComparison.Ordinal);
        if (marker < 0)
        {
            return symbol;
        }

        foreach (char c in symbol.AsSpan(marker + LlvmSuffixMarker.Length))
        {
            if (!char.IsAsciiHexDigitUpper(c) && c != '@')
            {
                return symbol;
            }
        }

        return symbol[..marker];
    }
}
