using System.Globalization;
using System.Text;

namespace Profiler.Symbols.Demangling.Rust;

/// <summary>
/// Rust's legacy mangling: an Itanium-shaped _ZN...E path whose last element is a 17h&lt;16 hex&gt;
/// hash, with punctuation escaped as $LT$, $u20$ and so on. Output drops the hash, like
/// rustc-demangle's alternate form.
/// </summary>
internal static class RustLegacyDemangler
{
    private const string LlvmSuffixMarker = ".llvm.";

    public static string? TryDemangle(string symbol)
    {
        if (!symbol.StartsWith("_ZN", StringComparison.Ordinal))
        {
            return null;
        }

        string name = StripLlvmSuffix(symbol);
        var elements = new List<string>();
        int position = 3;
        while (position < name.Length && name[position] != 'E')
        {
            int length = 0;
            int digitsStart = position;
            while (position < name.Length && char.IsAsciiDigit(name[position]))
            {
                length = (length * 10) + (name[position] - '0');
                position++;
                if (length > name.Length)
                {
                    return null;
                }
            }

            if (position == digitsStart || length == 0 || position + length > name.Length)
            {
                return null;
            }

            elements.Add(name.Substring(position, length));
            position += length;
        }

        if (position >= name.Length || elements.Count < 2 || !IsHash(elements[^1]))
        {
            return null;
        }

        // Anything after the closing E must be an LLVM-style ".suffix", which is kept.
        string suffix = name[(position + 1)..];
        if (suffix.Length > 0 && (suffix[0] != '.' || !suffix.All(IsSymbolCharacter)))
        {
            return null;
        }

        var output = new StringBuilder();
        for (int i = 0; i < elements.Count - 1; i++)
        {
            if (i > 0)
            {
                output.Append("::");
            }

            AppendUnescaped(output, elements[i]);
        }

        return output.Append(suffix).ToString();
    }

    private static string StripLlvmSuffix(string symbol)
    {
        // ThinLTO renames local symbols by appending .llvm.<hex>; it is noise to a reader.
        int marker = symbol.IndexOf(LlvmSuffixMarker, StringComparison.Ordinal);
        if (marker < 0)
        {
            return symbol;
        }

        var tail = symbol.AsSpan(marker + LlvmSuffixMarker.Length);
        foreach (char c in tail)
        {
            if (!char.IsAsciiHexDigitUpper(c) && !char.IsAsciiDigit(c) && c != '@')
            {
                return symbol;
            }
        }

        return symbol[..marker];
    }

    private static bool IsHash(string element) =>
        element.Length == 17 && element[0] == 'h' && element.AsSpan(1).IndexOfAnyExcept("0123456789abcdef") < 0;

    /// <summary>ASCII letters, digits and punctuation.</summary>
    private static bool IsSymbolCharacter(char c) => c is > ' ' and < '\x7f';

    private static void AppendUnescaped(StringBuilder output, string element)
    {
        var rest = element.AsSpan();
        if (rest.StartsWith("_$"))
        {
            rest = rest[1..];
        }

        while (!rest.IsEmpty)
        {
            if (rest[0] == '.')
            {
                bool isPathSeparator = rest.Length > 1 && rest[1] == '.';
                output.Append(isPathSeparator ? "::" : ".");
                rest = rest[(isPathSeparator ? 2 : 1)..];
            }
            else if (rest[0] == '$')
            {
                int end = rest[1..].IndexOf('$');
                if (end < 0 || Unescape(rest.Slice(1, end)) is not { } unescaped)
                {
                    break;
                }

                output.Append(unescaped);
                rest = rest[(end + 2)..];
            }
            else
            {
                int next = rest.IndexOfAny('$', '.');
                if (next < 0)
                {
                    break;
                }

                output.Append(rest[..next]);
                rest = rest[next..];
            }
        }

        // Whatever could not be decoded is shown as is.
        output.Append(rest);
    }

    private static string? Unescape(ReadOnlySpan<char> escape)
    {
        switch (escape)
        {
            case "SP": return "@";
            case "BP": return "*";
            case "RF": return "&";
            case "LT": return "<";
            case "GT": return ">";
            case "LP": return "(";
            case "RP": return ")";
            case "C": return ",";
        }

        if (escape.Length < 2 || escape[0] != 'u' || escape[1..].IndexOfAnyExcept("0123456789abcdef") >= 0
            || !int.TryParse(escape[1..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code)
            || code > 0x10FFFF || code is >= 0xD800 and <= 0xDFFF || char.IsControl((char)Math.Min(code, 0xFFFF)))
        {
            return null;
        }

        return char.ConvertFromUtf32(code);
    }
}
