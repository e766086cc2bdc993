namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Types: builtins, qualified types, pointers and references, arrays, vectors, pointers to members.</summary>
internal sealed partial class Parser
{
    /// <summary>A run of qualifier nodes, each wrapping the next through Left, waiting for the qualified type.</summary>
    private sealed class QualifierChain
    {
        public List<Node> Qualifiers { get; } = new();

        public Node Wrap(Node inner)
        {
            if (Qualifiers.Count == 0)
            {
                return inner;
            }

            Qualifiers[^1].Left = inner;
            return Qualifiers[0];
        }
    }

    private bool NextIsTypeQualifier()
    {
        char peek = Peek;
        return peek is 'r' or 'V' or 'K' || (peek == 'D' && PeekNext is 'x' or 'o' or 'O' or 'w');
    }

    private Node? Type()
    {
        if (!Enter())
        {
            Leave();
            return null;
        }

        try
        {
            return TypeBody();
        }
        finally
        {
            Leave();
        }
    }

    private Node? TypeBody()
    {
        if (NextIsTypeQualifier())
        {
            return QualifiedType();
        }

        bool substitutable = true;
        Node? result;
        char peek = Peek;
        var builtin = Tables.FindBuiltin(peek);
        if (builtin is not null)
        {
            Advance(1);
            return new Node(NodeKind.BuiltinType) { Builtin = builtin };
        }

        switch (peek)
        {
            case 'u':
                Advance(1);
                result = Node.Make(NodeKind.VendorType, SourceName());
                break;
            case 'F':
                result = FunctionType();
                break;
            case 'A':
                result = ArrayType();
                break;
            case 'M':
                result = PointerToMemberType();
                break;
            case 'T':
                result = TemplateParamType();
                break;
            case 'O':
                Advance(1);
                result = Node.Make(NodeKind.RvalueReference, Type());
                break;
            case 'P':
                Advance(1);
                result = Node.Make(NodeKind.Pointer, Type());
                break;
            case 'R':
                Advance(1);
                result = Node.Make(NodeKind.Reference, Type());
                break;
            case 'C':
                Advance(1);
                result = Node.Make(NodeKind.Complex, Type());
                break;
            case 'G':
                Advance(1);
                result = Node.Make(NodeKind.Imaginary, Type());
                break;
            case 'U':
                Advance(1);
                var qualifier = SourceName();
                if (Peek == 'I')
                {
                    qualifier = Node.Make(NodeKind.Template, qualifier, TemplateArgs());
                }

                result = Node.Make(NodeKind.VendorTypeQualifier, Type(), qualifier);
                break;
            case 'D':
                Advance(1);
                result = DType(out substitutable);
                break;
            default:
                return Name(substitutable: true);
        }

        if (substitutable && !AddSubstitution(result))
        {
            return null;
        }

        return result;
    }

    /// <summary>
    /// The ABI makes the unqualified and the fully qualified type substitutable, but not partially
    /// qualified ones, so all qualifiers are pulled off at once.
    /// </summary>
    private Node? QualifiedType()
    {
        var qualifiers = CvQualifiers(memberFunction: false);
        if (qualifiers is null)
        {
            return null;
        }

        // Qualifiers before a function type apply to "this", so the bare function type is not a candidate.
        var inner = Peek == 'F' ? FunctionType() : Type();
        if (inner is null)
        {
            return null;
        }

        var result = qualifiers.Wrap(inner);
        if (inner.Kind is NodeKind.RvalueReferenceThis or NodeKind.ReferenceThis)
        {
            // Move the ref-qualifier outside the cv-qualifiers so they print in source order.
            var function = inner.Left;
            inner.Left = result;
            result = inner;
            qualifiers.Qualifiers[^1].Left = function;
        }

        return AddSubstitution(result) ? result : null;
    }

    /// <summary>The two-letter D* types.</summary>
    private Node? DType(out bool substitutable)
    {
        substitutable = false;
        char code = NextChar();
        switch (code)
        {
            case 'T' or 't':
                substitutable = true;
                var decltype = Node.Make(NodeKind.Decltype, Expression());
                return decltype is not null && NextChar() == 'E' ? decltype : null;
            case 'p':
                substitutable = true;
                return Node.Make(NodeKind.PackExpansion, Type());
            case 'a':
                return Node.Named("auto");
            case 'c':
                return Node.Named("decltype(auto)");
            case 'F':
                return FloatNType();
            case 'v':
                substitutable = true;
                return VectorType();
            default:
                var builtin = Tables.FindExtendedBuiltin(code);
                return builtin is null ? null : new Node(NodeKind.BuiltinType) { Builtin = builtin };
        }
    }

    /// <summary>DF&lt;N&gt;_ is _FloatN, DF&lt;N&gt;x is _FloatNx, DF16b is std::bfloat16_t.</summary>
    private Node? FloatNType()
    {
        int bits = Number();
        if (Peek == 'b')
        {
            if (bits != 16)
            {
                return null;
            }

            Advance(1);
            return new Node(NodeKind.BuiltinType) { Builtin = Tables.BFloat16 };
        }

        char suffix = Peek == 'x' ? 'x' : '\0';
        if (suffix == '\0' && Peek != '_')
        {
            return null;
        }

        Advance(1);
        return new Node(NodeKind.ExtendedBuiltinType) { Builtin = Tables.FloatN, Number = bits, Suffix = suffix };
    }

    private Node? ArrayType()
    {
        if (!Eat('A'))
        {
            return null;
        }

        Node? dimension = null;
        if (IsDigit(Peek))
        {
            int start = _position;
            while (IsDigit(Peek))
            {
                _position++;
            }

            dimension = Node.Named(_text[start.._position]);
        }
        else if (Peek != '_')
        {
            dimension = Expression();
            if (dimension is null)
            {
                return null;
            }
        }

        return Eat('_') ? Node.Make(NodeKind.ArrayType, dimension, Type()) : null;
    }

    /// <summary>Dv &lt;number&gt; _ &lt;type&gt; or Dv _ &lt;expression&gt; _ &lt;type&gt;; the "Dv" is already consumed.</summary>
    private Node? VectorType()
    {
        var dimension = Eat('_') ? Expression() : NumberNode();
        if (dimension is null || !Eat('_'))
        {
            return null;
        }

        return Node.Make(NodeKind.VectorType, dimension, Type());
    }

    private Node? PointerToMemberType()
    {
        if (!Eat('M'))
        {
            return null;
        }

        var owner = Type();
        if (owner is null)
        {
            return null;
        }

        var member = Type();
        return member is null ? null : Node.Make(NodeKind.PointerToMemberType, owner, member);
    }
}
