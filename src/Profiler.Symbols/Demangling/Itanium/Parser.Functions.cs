namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Function types, their parameter lists and the qualifiers that apply to "this".</summary>
internal sealed partial class Parser
{
    /// <summary>CV-qualifiers [r] [V] [K] plus the function-type qualifiers Dx, Do, DO...E and Dw...E.</summary>
    private QualifierChain? CvQualifiers(bool memberFunction)
    {
        var chain = new QualifierChain();
        while (NextIsTypeQualifier())
        {
            char peek = NextChar();
            Node? operand = null;
            NodeKind kind;
            switch (peek)
            {
                case 'r':
                    kind = memberFunction ? NodeKind.RestrictThis : NodeKind.Restrict;
                    break;
                case 'V':
                    kind = memberFunction ? NodeKind.VolatileThis : NodeKind.Volatile;
                    break;
                case 'K':
                    kind = memberFunction ? NodeKind.ConstThis : NodeKind.Const;
                    break;
                default:
                    char code = NextChar();
                    if (code == 'x')
                    {
                        kind = NodeKind.TransactionSafe;
                    }
                    else if (code is 'o' or 'O')
                    {
                        kind = NodeKind.Noexcept;
                        if (code == 'O')
                        {
                            operand = Expression();
                            if (operand is null || !Eat('E'))
                            {
                                return null;
                            }
                        }
                    }
                    else
                    {
                        kind = NodeKind.ThrowSpec;
                        operand = ParameterList();
                        if (operand is null || !Eat('E'))
                        {
                            return null;
                        }
                    }

                    break;
            }

            var qualifier = new Node(kind, null, operand);
            if (chain.Qualifiers.Count > 0)
            {
                chain.Qualifiers[^1].Left = qualifier;
            }

            chain.Qualifiers.Add(qualifier);
        }

        if (!memberFunction && Peek == 'F')
        {
            foreach (var qualifier in chain.Qualifiers)
            {
                qualifier.Kind = qualifier.Kind switch
                {
                    NodeKind.Restrict => NodeKind.RestrictThis,
                    NodeKind.Volatile => NodeKind.VolatileThis,
                    NodeKind.Const => NodeKind.ConstThis,
                    var other => other,
                };
            }
        }

        return chain;
    }

    private Node? RefQualifier(Node? inner) => Peek switch
    {
        'R' => new Node(NodeKind.ReferenceThis, AdvancePast(inner)),
        'O' => new Node(NodeKind.RvalueReferenceThis, AdvancePast(inner)),
        _ => inner,
    };

    private Node? AdvancePast(Node? value)
    {
        Advance(1);
        return value;
    }

    /// <summary>&lt;function-type&gt; ::= F [Y] &lt;bare-function-type&gt; [&lt;ref-qualifier&gt;] E</summary>
    private Node? FunctionType()
    {
        if (!Eat('F'))
        {
            return null;
        }

        // Y marks extern "C", which c++filt does not show.
        Eat('Y');
        var function = BareFunctionType(hasReturnType: true);
        if (function is null)
        {
            return null;
        }

        function = RefQualifier(function);
        return Eat('E') ? function : null;
    }

    private Node? ParameterList()
    {
        Node? head = null;
        Node? tail = null;
        while (true)
        {
            char peek = Peek;
            if (peek is '\0' or 'E' or '.' || (peek is 'R' or 'O' && PeekNext == 'E'))
            {
                break;
            }

            var type = Type();
            if (type is null)
            {
                return null;
            }

            var link = new Node(NodeKind.ArgumentList, type);
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

        if (head is null)
        {
            return null;
        }

        // A lone void parameter means "no parameters".
        if (head.Right is null && head.Left is { Kind: NodeKind.BuiltinType, Builtin.Style: LiteralStyle.Void })
        {
            head.Left = null;
        }

        return head;
    }

    private Node? BareFunctionType(bool hasReturnType)
    {
        // J marks an explicitly encoded return type.
        if (Eat('J'))
        {
            hasReturnType = true;
        }

        Node? returnType = null;
        if (hasReturnType)
        {
            returnType = Type();
            if (returnType is null)
            {
                return null;
            }
        }

        var parameters = ParameterList();
        return parameters is null ? null : new Node(NodeKind.FunctionType, returnType, parameters);
    }
}
