using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Profiler.Symbols.Demangling.Rust;

/// <summary>
/// Parses and prints a v0 symbol in one pass. Back-references re-read an earlier part of the
/// symbol, so the parse position is simply moved there and back. On malformed input the printer
/// marks itself failed and unwinds; the partial output is then discarded.
/// </summary>
internal sealed partial class V0Printer
{
    private const int MaxDepth = 200;

    /// <summary>Back-references can make output exponential in the input; real names stay far below this.</summary>
    private const int MaxOutputLength = 1 << 18;

    /// <summary>Past this many bound lifetimes in one binder the symbol is treated as garbage.</summary>
    private const int MaxBoundLifetimes = 1000;

    private readonly string _symbol;
    private StringBuilder _output = new();
    private int _position;
    private int _depth;
    private int _boundLifetimeDepth;
    private bool _failed;

    /// <param name="symbol">The symbol without its "_R" prefix; back-reference offsets count from here.</param>
    public V0Printer(string symbol) => _symbol = symbol;

    /// <summary>The demangled path (null if malformed) and whatever followed the mangled part.</summary>
    public (string? Demangled, string Suffix) PrintSymbol()
    {
        PrintPath(inValue: true);

        // The instantiating crate says where a generic was instantiated; readers do not need it.
        if (!_failed && char.IsAsciiLetterUpper(Peek))
        {
            Skipping(() => PrintPath(inValue: false));
        }

        return _failed ? (null, "") : (_output.ToString(), _symbol[_position..]);
    }

    private char Peek => _position < _symbol.Length ? _symbol[_position] : '\0';

    private bool Eat(char expected)
    {
        if (_failed || Peek != expected)
        {
            return false;
        }

        _position++;
        return true;
    }

    private char Next()
    {
        if (_failed || _position >= _symbol.Length)
        {
            Invalid();
            return '\0';
        }

        return _symbol[_position++];
    }

    private void Invalid() => _failed = true;

    private void Print(string text)
    {
        _output.Append(text);
        if (_output.Length > MaxOutputLength)
        {
            Invalid();
        }
    }

    private void Print(char c) => Print(c.ToString());

    private void Print(ulong value) => Print(value.ToString(CultureInfo.InvariantCulture));

    /// <summary>Parses without printing, for parts the output leaves out.</summary>
    private void Skipping(Action parse)
    {
        var saved = _output;
        _output = new StringBuilder();
        parse();
        _output = saved;
    }

    private bool EnterNested()
    {
        _depth++;
        if (_depth > MaxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            Invalid();
        }

        return !_failed;
    }

    private void LeaveNested() => _depth--;

    /// <summary>B &lt;base-62-number&gt;: re-read the symbol from an earlier offset.</summary>
    private void PrintBackref(Action print)
    {
        int tagPosition = _position - 1;
        ulong target = Integer62();
        if (_failed || target >= (ulong)tagPosition)
        {
            Invalid();
            return;
        }

        int resumeAt = _position;
        _position = (int)target;
        if (EnterNested())
        {
            print();
        }

        LeaveNested();
        _position = resumeAt;
    }

    /// <summary>Elements until 'E', separated by <paramref name="separator"/>; returns how many.</summary>
    private int PrintList(Action printElement, string separator)
    {
        int count = 0;
        while (!_failed && !Eat('E'))
        {
            if (count > 0)
            {
                Print(separator);
            }

            printElement();
            count++;
        }

        return count;
    }

    /// <summary>&lt;base-62-number&gt; _ where "_" alone is 0 and "x_" is x+1.</summary>
    private ulong Integer62()
    {
        if (Eat('_'))
        {
            return 0;
        }

        ulong value = 0;
        while (!_failed && !Eat('_'))
        {
            char c = Next();
            int digit = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'z' => c - 'a' + 10,
                >= 'A' and <= 'Z' => c - 'A' + 36,
                _ => -1,
            };
            if (digit < 0 || value > (ulong.MaxValue - (ulong)digit) / 62)
            {
                Invalid();
                return 0;
            }

            value = (value * 62) + (ulong)digit;
        }

        if (value == ulong.MaxValue)
        {
            Invalid();
        }

        return value + 1;
    }

    private ulong OptionalInteger62(char tag)
    {
        if (!Eat(tag))
        {
            return 0;
        }

        ulong value = Integer62();
        if (value == ulong.MaxValue)
        {
            Invalid();
        }

        return value + 1;
    }

    private ulong Disambiguator() => OptionalInteger62('s');

    /// <summary>Hex digits up to '_'.</summary>
    private string HexNibbles()
    {
        int start = _position;
        while (!_failed)
        {
            char c = Next();
            if (c == '_')
            {
                return _symbol[start..(_position - 1)];
            }

            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                Invalid();
            }
        }

        return "";
    }

    /// <summary>[u] &lt;decimal length&gt; [_] &lt;bytes&gt;; "u" marks a punycode-encoded identifier.</summary>
    private Identifier ParseIdentifier()
    {
        bool isPunycode = Eat('u');
        if (!char.IsAsciiDigit(Peek))
        {
            Invalid();
            return new Identifier("", "");
        }

        int length = Next() - '0';
        if (length != 0)
        {
            while (char.IsAsciiDigit(Peek))
            {
                length = (length * 10) + (Next() - '0');
                if (length > _symbol.Length)
                {
                    Invalid();
                    return new Identifier("", "");
                }
            }
        }

        // The separator is there when the identifier itself starts with a digit or underscore.
        Eat('_');
        if (_failed || length > _symbol.Length - _position)
        {
            Invalid();
            return new Identifier("", "");
        }

        string text = _symbol.Substring(_position, length);
        _position += length;
        if (!isPunycode)
        {
            return new Identifier(text, "");
        }

        int split = text.LastIndexOf('_');
        var identifier = split < 0 ? new Identifier("", text) : new Identifier(text[..split], text[(split + 1)..]);
        if (identifier.Punycode.Length == 0)
        {
            Invalid();
        }

        return identifier;
    }

    private void PrintIdentifier(Identifier identifier) => Print(identifier.ToString());
}
