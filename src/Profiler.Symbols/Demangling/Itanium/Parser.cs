using System.Runtime.CompilerServices;

namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>
/// Recursive-descent parser for the Itanium C++ ABI mangling grammar, producing a <see cref="Node"/>
/// tree. Every parse method returns null on malformed input; nothing throws. The tree shape and the
/// places where substitution candidates are recorded follow the GNU demangler, because the printer
/// must reproduce c++filt's output exactly.
/// </summary>
internal sealed partial class Parser
{
    /// <summary>Deep enough for any real symbol, shallow enough to stay far from the stack limit.</summary>
    private const int MaxDepth = 200;

    private readonly string _text;
    private readonly List<Node> _substitutions = new();
    private int _position;
    private int _depth;

    /// <summary>The most recent source name, which a following constructor/destructor is named after.</summary>
    private Node? _lastName;

    private bool _inExpression;
    private bool _inConversion;

    /// <summary>
    /// "sr" names have an old and a new encoding that overlap: 1 means try the new one first,
    /// -1 means the new one was used (so a failure is worth a retry), 0 means old encoding only.
    /// </summary>
    private int _unresolvedNameState;

    private Parser(string text, int unresolvedNameState)
    {
        _text = text;
        _unresolvedNameState = unresolvedNameState;
    }

    public static Node? Parse(string symbol)
    {
        var parser = new Parser(symbol, unresolvedNameState: 1);
        var result = parser.ParseWholeSymbol();
        if (result is null && parser._unresolvedNameState == -1)
        {
            parser = new Parser(symbol, unresolvedNameState: 0);
            result = parser.ParseWholeSymbol();
        }

        return result;
    }

    private Node? ParseWholeSymbol()
    {
        Node? result;
        if (_text.StartsWith("_Z", StringComparison.Ordinal))
        {
            result = MangledName(topLevel: true);
        }
        else if (IsGlobalConstructorSymbol(out bool constructors))
        {
            if (_text.Length == 11)
            {
                return null;
            }

            _position = 11;
            var inner = _text.AsSpan(11).StartsWith("_Z")
                ? ParseEmbeddedEncoding()
                : Node.Named(_text[11..]);
            _position = _text.Length;
            result = Node.Make(constructors ? NodeKind.GlobalConstructors : NodeKind.GlobalDestructors, inner);
        }
        else
        {
            return null;
        }

        return _position == _text.Length ? result : null;
    }

    private Node? ParseEmbeddedEncoding()
    {
        _position += 2;
        return Encoding(topLevel: false);
    }

    /// <summary>Old GCC's _GLOBAL_.I_name / _GLOBAL__D_name static-initialiser symbols.</summary>
    private bool IsGlobalConstructorSymbol(out bool constructors)
    {
        constructors = false;
        if (_text.Length < 11 || !_text.StartsWith("_GLOBAL_", StringComparison.Ordinal)
            || _text[8] is not ('.' or '_' or '$') || _text[9] is not ('D' or 'I') || _text[10] != '_')
        {
            return false;
        }

        constructors = _text[9] == 'I';
        return true;
    }

    private char Peek => _position < _text.Length ? _text[_position] : '\0';

    private char PeekNext => _position + 1 < _text.Length ? _text[_position + 1] : '\0';

    private char NextChar()
    {
        char c = Peek;
        if (c != '\0')
        {
            _position++;
        }

        return c;
    }

    private void Advance(int count) => _position = Math.Min(_position + count, _text.Length);

    private bool Eat(char expected)
    {
        if (Peek != expected)
        {
            return false;
        }

        _position++;
        return true;
    }

    private static bool IsDigit(char c) => c is >= '0' and <= '9';

    private static bool IsLower(char c) => c is >= 'a' and <= 'z';

    private static bool IsUpper(char c) => c is >= 'A' and <= 'Z';

    /// <summary>Call before recursing; pair with <see cref="Leave"/> in a finally block.</summary>
    private bool Enter()
    {
        _depth++;
        return _depth <= MaxDepth && RuntimeHelpers.TryEnsureSufficientExecutionStack();
    }

    private void Leave() => _depth--;

    private bool AddSubstitution(Node? node)
    {
        if (node is null)
        {
            return false;
        }

        _substitutions.Add(node);
        return true;
    }

    /// <summary>number ::= [n] digits. Returns -1 on overflow, like the reference implementation.</summary>
    private int Number()
    {
        bool negative = Eat('n');
        int value = 0;
        while (IsDigit(Peek))
        {
            int digit = Peek - '0';
            if (value > (int.MaxValue - digit) / 10)
            {
                return -1;
            }

            value = (value * 10) + digit;
            _position++;
        }

        return negative ? -value : value;
    }

    /// <summary>&lt;non-negative number&gt; _ where "_" alone means 0 and "N_" means N+1.</summary>
    private int CompactNumber()
    {
        int number;
        if (Peek == '_')
        {
            number = 0;
        }
        else if (Peek == 'n')
        {
            return -1;
        }
        else
        {
            number = Number() + 1;
        }

        return number < 0 || !Eat('_') ? -1 : number;
    }

    private Node NumberNode() => new(NodeKind.Number) { Number = Number() };

    private (int Position, int SubstitutionCount) Checkpoint() => (_position, _substitutions.Count);

    private void Backtrack((int Position, int SubstitutionCount) checkpoint)
    {
        _position = checkpoint.Position;
        _substitutions.RemoveRange(checkpoint.SubstitutionCount, _substitutions.Count - checkpoint.SubstitutionCount);
    }
}
