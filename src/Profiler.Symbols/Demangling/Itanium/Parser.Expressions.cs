namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Expressions, which appear in template arguments, decltype and array bounds.</summary>
internal sealed partial class Parser
{
    private Node? OperatorName()
    {
        char first = NextChar();
        char second = NextChar();
        if (first == 'v' && IsDigit(second))
        {
            var name = SourceName();
            return name is null ? null : new Node(NodeKind.ExtendedOperator, name) { Number = second - '0' };
        }

        if (first == 'c' && second == 'v')
        {
            bool wasConversion = _inConversion;
            _inConversion = !_inExpression;
            var type = Type();
            var result = Node.Make(_inConversion ? NodeKind.Conversion : NodeKind.Cast, type);
            _inConversion = wasConversion;
            return result;
        }

        var op = Tables.FindOperator(first, second);
        return op is null ? null : new Node(NodeKind.Operator) { Operator = op };
    }

    private Node? ExpressionList(char terminator)
    {
        if (Eat(terminator))
        {
            return new Node(NodeKind.ArgumentList);
        }

        Node? head = null;
        Node? tail = null;
        do
        {
            var argument = Expression();
            if (argument is null)
            {
                return null;
            }

            var link = new Node(NodeKind.ArgumentList, argument);
            if (tail is null)
            {
                head = link;
            }
            else
            {
                tail.Right = link;
            }

            tail = link;
        }
        while (!Eat(terminator));

        return head;
    }

    /// <summary>
    /// sr-prefixed unresolved names. "sr1A1x" (old) and "sr1AE1x" (new) overlap, so the new reading
    /// is tried first and the whole parse is retried with the old one if it fails.
    /// </summary>
    private Node? UnresolvedName()
    {
        Advance(2);
        char peek = Peek;
        Node? scope;
        if (_unresolvedNameState != 0 && (IsDigit(peek) || IsLower(peek) || peek is 'C' or 'U' or 'L'))
        {
            _unresolvedNameState = -1;
            scope = Prefix(substitutable: false);
            Eat('E');
        }
        else
        {
            scope = Type();
        }

        var name = UnqualifiedName(scope);
        if (Peek == 'I')
        {
            name = Node.Make(NodeKind.Template, name, TemplateArgs());
        }

        return name;
    }

    private Node? Expression()
    {
        bool wasExpression = _inExpression;
        _inExpression = true;
        var result = ExpressionBody();
        _inExpression = wasExpression;
        return result;
    }

    private Node? ExpressionBody()
    {
        if (!Enter())
        {
            Leave();
            return null;
        }

        try
        {
            return ParseExpression();
        }
        finally
        {
            Leave();
        }
    }

    private Node? ParseExpression()
    {
        char peek = Peek;
        char next = PeekNext;
        switch (peek)
        {
            case 'L':
                return ExprPrimary();
            case 'T':
                return TemplateParam();
            case 's' when next == 'r':
                return UnresolvedName();
            case 's' when next == 'p':
                Advance(2);
                return Node.Make(NodeKind.PackExpansion, ExpressionBody());
            case 'f' when next == 'p':
                return FunctionParam();
            case 'o' when next == 'n':
            case >= '0' and <= '9':
                // A bare (possibly operator) name, as in a dependent call decltype(f(t)).
                if (peek == 'o')
                {
                    Advance(2);
                }

                var name = UnqualifiedName(null);
                if (name is null)
                {
                    return null;
                }

                return Peek == 'I' ? Node.Make(NodeKind.Template, name, TemplateArgs()) : name;
            case 'i' or 't' when next == 'l':
                Advance(2);
                var type = peek == 't' ? Type() : null;
                if (Peek == '\0' || PeekNext == '\0')
                {
                    return null;
                }

                return Node.Make(NodeKind.InitializerList, type, ExpressionList('E'));
            case 'u':
                Advance(1);
                var vendorName = SourceName();
                return Node.Make(NodeKind.VendorExpression, vendorName, TemplateArgsBody());
            default:
                return OperatorExpression();
        }
    }

    private Node? FunctionParam()
    {
        Advance(2);
        int index;
        if (Eat('T'))
        {
            index = 0;
        }
        else
        {
            index = CompactNumber();
            if (index is int.MaxValue or -1)
            {
                return null;
            }

            index++;
        }

        return new Node(NodeKind.FunctionParam) { Number = index };
    }

    /// <summary>L &lt;type&gt; &lt;value&gt; E, or L &lt;mangled-name&gt; E.</summary>
    private Node? ExprPrimary()
    {
        if (!Eat('L'))
        {
            return null;
        }

        Node? result;
        if (Peek is '_' or 'Z')
        {
            result = MangledName(topLevel: false);
        }
        else
        {
            var type = Type();
            if (type is null)
            {
                return null;
            }

            if (type.Builtin == Tables.NullptrType && Eat('E'))
            {
                return type;
            }

            // The value is kept as text: integers print verbatim, floats as their hex image.
            var kind = Eat('n') ? NodeKind.NegativeLiteral : NodeKind.Literal;
            int start = _position;
            while (Peek != 'E')
            {
                if (Peek == '\0')
                {
                    return null;
                }

                _position++;
            }

            // An empty value is malformed.
            if (_position == start)
            {
                return null;
            }

            result = Node.Make(kind, type, Node.Named(_text[start.._position]));
        }

        return Eat('E') ? result : null;
    }
}
