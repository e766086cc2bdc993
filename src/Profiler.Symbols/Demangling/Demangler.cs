using Profiler.Symbols.Demangling.Itanium;
using Profiler.Symbols.Demangling.Rust;

namespace Profiler.Symbols.Demangling;

/// <summary>
/// Turns linker symbol names back into source-level names: Itanium C++ (matching c++filt's
/// formatting), Rust legacy and Rust v0 (matching rustc-demangle's alternate form, without hashes).
/// </summary>
public static class Demangler
{
    /// <summary>
    /// Returns the demangled name, or the input unchanged when it is not a mangled name we understand.
    /// Anything from the first '@' on (ELF symbol versions such as "@@GLIBCXX_3.4", or "@plt") is kept
    /// verbatim after the demangled part. Never throws; a null input yields an empty string.
    /// </summary>
    public static string Demangle(string symbol)
    {
        if (string.IsNullOrEmpty(symbol))
        {
            return symbol ?? string.Empty;
        }

        try
        {
            int versionStart = symbol.IndexOf('@');
            string name = versionStart < 0 ? symbol : symbol[..versionStart];
            string? demangled = DemangleName(name);
            return demangled is null ? symbol : demangled + symbol[name.Length..];
        }
        catch (Exception)
        {
            // The parsers return null rather than throw, but a profiler must never lose a stack
            // over one odd symbol, so anything unforeseen also falls back to the raw name.
            return symbol;
        }
    }

    private static string? DemangleName(string name)
    {
        if (RustLegacyDemangler.TryDemangle(name) is { } rustLegacy)
        {
            return rustLegacy;
        }

        if (RustV0Demangler.LooksMangled(name))
        {
            return RustV0Demangler.TryDemangle(name);
        }

        return ItaniumDemangler.LooksMangled(name) ? ItaniumDemangler.TryDemangle(name) : null;
    }
}
