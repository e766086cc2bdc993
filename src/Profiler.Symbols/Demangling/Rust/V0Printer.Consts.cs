using System.Globalization;
using System.Text;

namespace Profiler.Symbols.Demangling.Rust;

/// <summary>Const generic arguments: integers, bool, char, str and structured values.</summary>
internal sealed partial class V0Printer
{
    /// <param name="inValue">Whether the constant is nested in another, where compound values need no braces.</param>
    private void PrintConst(bool inValue)
    {
        char tag = Next();
        if (_failed)
        {
            return;
        }

        if (!EnterNested())
        {
            LeaveNested();
            return;
        }

        // Outside an expression, anything but a literal needs braces to parse as a generic argument.
        bool braced = false;
        void OpenBraceIfNeeded()
        {
            if (!inValue)
            {
                braced = true;
                Print('{');
            }
        }

        switch (tag)
        {
            case 'p':
                Print('_');
                break;
            case 'h' or 't' or 'm' or 'y' or 'o' or 'j':
                PrintUnsigned(HexNibbles());
                break;
            case 'a' or 's' or 'l' or 'x' or 'n' or 'i':
                if (Eat('n'))
                {
                    Print('-');
                }

                PrintUnsigned(HexNibbles());
                break;
            case 'b':
                switch (ParseUnsigned(HexNibbles()))
                {
                    case 0:
                        Print("false");
                        break;
                    case 1:
                        Print("true");
                        break;
                    default:
                        Invalid();
                        break;
                }

                break;
            case 'c':
                ulong? codePoint = ParseUnsigned(HexNibbles());
                if (codePoint is not { } value || value > 0x10FFFF || value is >= 0xD800 and <= 0xDFFF)
                {
                    Invalid();
                    break;
                }

                PrintQuoted('\'', char.ConvertFromUtf32((int)value));
                break;
            case 'e':
                // A str value: "*\"...\"" because the literal itself would be a &str.
                OpenBraceIfNeeded();
                Print('*');
                PrintStringLiteral();
                break;
            case 'R' or 'Q':
                if (tag == 'R' && Eat('e'))
                {
                    PrintStringLiteral();
                    break;
                }

                OpenBraceIfNeeded();
                Print(tag == 'R' ? "&" : "&mut ");
                PrintConst(inValue: true);
                break;
            case 'A':
                OpenBraceIfNeeded();
                Print('[');
                PrintList(() => PrintConst(inValue: true), ", ");
                Print(']');
                break;
            case 'T':
                OpenBraceIfNeeded();
                Print('(');
                if (PrintList(() => PrintConst(inValue: true), ", ") == 1)
                {
                    Print(',');
                }

                Print(')');
                break;
            case 'V':
                OpenBraceIfNeeded();
                PrintPath(inValue: true);
                PrintVariantFields();
                break;
            case 'B':
                PrintBackref(() => PrintConst(inValue));
                break;
            default:
                Invalid();
                break;
        }

        if (braced)
        {
            Print('}');
        }

        LeaveNested();
    }

    /// <summary>U (unit variant), T &lt;consts&gt; E (tuple variant) or S &lt;named consts&gt; E (struct variant).</summary>
    private void PrintVariantFields()
    {
        switch (Next())
        {
            case 'U':
                break;
            case 'T':
                Print('(');
                PrintList(() => PrintConst(inValue: true), ", ");
                Print(')');
                break;
            case 'S':
                Print(" { ");
                PrintList(
                    () =>
                    {
                        Disambiguator();
                        PrintIdentifier(ParseIdentifier());
                        Print(": ");
                        PrintConst(inValue: true);
                    },
                    ", ");
                Print(" }");
                break;
            default:
                Invalid();
                break;
        }
    }

    /// <summary>Values wider than 64 bits are shown as hex, as rustc-demangle does.</summary>
    private void PrintUnsigned(string nibbles)
    {
        if (ParseUnsigned(nibbles) is { } value)
        {
            Print(value);
        }
        else
        {
            Print("0x");
            Print(nibbles);
        }
    }

    private static ulong? ParseUnsigned(string nibbles)
    {
        string significant = nibbles.TrimStart('0');
        if (significant.Length > 16)
        {
            return null;
        }

        return significant.Length == 0 ? 0 : ulong.Parse(significant, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    /// <summary>Hex-encoded UTF-8 bytes up to '_'.</summary>
    private void PrintStringLiteral()
    {
        string nibbles = HexNibbles();
        if (_failed || nibbles.Length % 2 != 0)
        {
            Invalid();
            return;
        }

        byte[] bytes = Convert.FromHexString(nibbles);
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            Invalid();
            return;
        }

        PrintQuoted('"', text);
    }

    /// <summary>Quotes with Rust's debug escaping; a quote of the other kind needs no escape.</summary>
    private void PrintQuoted(char quote, string text)
    {
        var escaped = new StringBuilder().Append(quote);
        foreach (char c in text)
        {
            switch (c)
            {
                case '\t': escaped.Append("\\t"); break;
                case '\r': escaped.Append("\\r"); break;
                case '\n': escaped.Append("\\n"); break;
                case '\\': escaped.Append("\\\\"); break;
                case '\0': escaped.Append("\\0"); break;
                case '\'' or '"' when c == quote: escaped.Append('\\').Append(c); break;
                case var _ when char.IsControl(c):
                    escaped.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:x}}}");
                    break;
                default: escaped.Append(c); break;
            }
        }

        Print(escaped.Append(quote).ToString());
    }
}
