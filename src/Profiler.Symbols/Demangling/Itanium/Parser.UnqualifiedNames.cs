namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Unqualified names: source names, operators, constructors/destructors, lambdas, modules.</summary>
internal sealed partial class Parser
{
    private Node? AbiTags(Node? node)
    {
        // A tag is a source name, but must not become the name a later constructor refers to.
        var savedLastName = _lastName;
        while (Eat('B'))
        {
            node = Node.Make(NodeKind.TaggedName, node, SourceName());
        }

        _lastName = savedLastName;
        return node;
    }

    private Node? UnqualifiedName(Node? scope, Node? module = null)
    {
        if (!ModuleName(ref module))
        {
            return null;
        }

        char peek = Peek;
        Node? result;
        if (IsDigit(peek))
        {
            result = SourceName();
        }
        else if (IsLower(peek))
        {
            bool wasExpression = _inExpression;
            if (peek == 'o' && PeekNext == 'n')
            {
                Advance(2);
                _inExpression = false;
            }

            result = OperatorName();
            _inExpression = wasExpression;
            if (result is { Kind: NodeKind.Operator, Operator.Code: "li" })
            {
                result = Node.Make(NodeKind.Unary, result, SourceName());
            }
        }
        else if (peek == 'D' && PeekNext == 'C')
        {
            Advance(2);
            result = StructuredBinding();
        }
        else if (peek is 'C' or 'D')
        {
            result = ConstructorOrDestructorName();
        }
        else if (peek == 'L')
        {
            Advance(1);
            result = SourceName();
            if (result is null || !Discriminator())
            {
                return null;
            }
        }
        else if (peek == 'U')
        {
            result = PeekNext switch
            {
                'l' => Lambda(),
                't' => UnnamedType(),
                _ => null,
            };
            if (result is null)
            {
                return null;
            }
        }
        else
        {
            return null;
        }

        if (module is not null)
        {
            result = Node.Make(NodeKind.ModuleEntity, result, module);
        }

        if (Peek == 'B')
        {
            result = AbiTags(result);
        }

        if (scope is not null)
        {
            result = Node.Make(NodeKind.QualifiedName, scope, result);
        }

        return result;
    }

    /// <summary>C++20 module attachment: W [P] &lt;source-name&gt;, each part a substitution candidate.</summary>
    private bool ModuleName(ref Node? module)
    {
        while (Eat('W'))
        {
            var kind = Eat('P') ? NodeKind.ModulePartition : NodeKind.ModuleName;
            module = Node.Make(kind, module, SourceName());
            if (!AddSubstitution(module))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsModule(Node node) => node.Kind is NodeKind.ModuleName or NodeKind.ModulePartition;

    private Node? StructuredBinding()
    {
        Node? first = null;
        Node? previous = null;
        do
        {
            var next = Node.Make(NodeKind.StructuredBinding, SourceName());
            if (next is null)
            {
                return null;
            }

            if (previous is null)
            {
                first = next;
            }
            else
            {
                previous.Right = next;
            }

            previous = next;
        }
        while (Peek != 'E');

        Advance(1);
        return first;
    }

    private Node? SourceName()
    {
        int length = Number();
        if (length <= 0)
        {
            return null;
        }

        var result = Identifier(length);
        _lastName = result;
        return result;
    }

    private Node? Identifier(int length)
    {
        if (_text.Length - _position < length)
        {
            return null;
        }

        string name = _text.Substring(_position, length);
        Advance(length);

        // GCC names anonymous namespaces _GLOBAL__N_<file>.
        if (length >= 10 && name.StartsWith("_GLOBAL_", StringComparison.Ordinal)
            && name[8] is '.' or '_' or '$' && name[9] == 'N')
        {
            return Node.Named("(anonymous namespace)");
        }

        return Node.Named(name);
    }

    private Node? ConstructorOrDestructorName()
    {
        if (Peek == 'C')
        {
            bool inheriting = PeekNext == 'I';
            if (inheriting)
            {
                Advance(1);
            }

            if (PeekNext is not ('1' or '2' or '3' or '4' or '5'))
            {
                return null;
            }

            Advance(2);
            if (inheriting)
            {
                // The inherited-from base type is not printed.
                Type();
            }

            return Node.Make(NodeKind.Constructor, _lastName);
        }

        if (Peek == 'D' && PeekNext is '0' or '1' or '2' or '4' or '5')
        {
            Advance(2);
            return Node.Make(NodeKind.Destructor, _lastName);
        }

        return null;
    }
}
