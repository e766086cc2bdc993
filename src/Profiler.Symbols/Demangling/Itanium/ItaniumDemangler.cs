namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Itanium C++ ABI names (_Z...), as produced by GCC and Clang on every non-Windows platform.</summary>
internal static class ItaniumDemangler
{
    public static bool LooksMangled(string symbol) =>
        symbol.StartsWith("_Z", StringComparison.Ordinal) || symbol.StartsWith("_GLOBAL_", StringComparison.Ordinal);

    /// <summary>The demangled text, or null when the symbol is not a valid mangled name.</summary>
    public static string? TryDemangle(string symbol)
    {
        var tree = Parser.Parse(symbol);
        return tree is null ? null : Printer.Print(tree);
    }
}
