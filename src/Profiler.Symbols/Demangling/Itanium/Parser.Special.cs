namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Special names (vtables, thunks, guard variables...) and names local to a function.</summary>
internal sealed partial class Parser
{
    private Node? SpecialName()
    {
        if (Eat('T'))
        {
            return NextChar() switch
            {
                'V' => Node.Make(NodeKind.VirtualTable, Type()),
                'T' => Node.Make(NodeKind.VirtualTableTable, Type()),
                'I' => Node.Make(NodeKind.TypeInfo, Type()),
                'S' => Node.Make(NodeKind.TypeInfoName, Type()),
                'h' => CallOffset('h') ? Node.Make(NodeKind.Thunk, Encoding(topLevel: false)) : null,
                'v' => CallOffset('v') ? Node.Make(NodeKind.VirtualThunk, Encoding(topLevel: false)) : null,
                'c' => CallOffset('\0') && CallOffset('\0')
                    ? Node.Make(NodeKind.CovariantThunk, Encoding(topLevel: false))
                    : null,
                'C' => ConstructionVirtualTable(),
                'F' => Node.Make(NodeKind.TypeInfoFunction, Type()),
                'J' => Node.Make(NodeKind.JavaClass, Type()),
                'H' => Node.Make(NodeKind.TlsInit, Name(substitutable: false)),
                'W' => Node.Make(NodeKind.TlsWrapper, Name(substitutable: false)),
                'A' => Node.Make(NodeKind.TemplateParamObject, TemplateArg()),
                _ => null,
            };
        }

        if (Eat('G'))
        {
            switch (NextChar())
            {
                case 'V':
                    return Node.Make(NodeKind.GuardVariable, Name(substitutable: false));
                case 'R':
                    var name = Name(substitutable: false);
                    return Node.Make(NodeKind.ReferenceTemporary, name, NumberNode());
                case 'A':
                    return Node.Make(NodeKind.HiddenAlias, Encoding(topLevel: false));
                case 'I':
                    Node? module = null;
                    return ModuleName(ref module) ? Node.Make(NodeKind.ModuleInit, module) : null;
                case 'T':
                    // Only 'n' is non-transactional; every other letter is some transaction clone.
                    var kind = NextChar() == 'n' ? NodeKind.NonTransactionClone : NodeKind.TransactionClone;
                    return Node.Make(kind, Encoding(topLevel: false));
                default:
                    return null;
            }
        }

        return null;
    }

    /// <summary>TC &lt;derived type&gt; &lt;offset&gt; _ &lt;base type&gt;; the offset is not shown.</summary>
    private Node? ConstructionVirtualTable()
    {
        var derived = Type();
        int offset = Number();
        if (offset < 0 || !Eat('_'))
        {
            return null;
        }

        var baseType = Type();
        return Node.Make(NodeKind.ConstructionVirtualTable, baseType, derived);
    }

    /// <summary>h &lt;offset&gt; _ or v &lt;offset&gt; _ &lt;virtual offset&gt; _; offsets are not shown.</summary>
    private bool CallOffset(char alreadyRead)
    {
        char kind = alreadyRead == '\0' ? NextChar() : alreadyRead;
        if (kind == 'h')
        {
            Number();
        }
        else if (kind == 'v')
        {
            Number();
            if (!Eat('_'))
            {
                return false;
            }

            Number();
        }
        else
        {
            return false;
        }

        return Eat('_');
    }

    /// <summary>Z &lt;function encoding&gt; E (s | [d &lt;number&gt; _] &lt;entity name&gt;) [&lt;discriminator&gt;]</summary>
    private Node? LocalName()
    {
        if (!Eat('Z'))
        {
            return null;
        }

        var function = Encoding(topLevel: false);
        if (function is null || !Eat('E'))
        {
            return null;
        }

        Node? entity;
        if (Eat('s'))
        {
            if (!Discriminator())
            {
                return null;
            }

            entity = Node.Named("string literal");
        }
        else
        {
            int defaultArgument = -1;
            if (Eat('d'))
            {
                defaultArgument = CompactNumber();
                if (defaultArgument < 0)
                {
                    return null;
                }
            }

            entity = Name(substitutable: false);

            // Lambdas and unnamed types carry their own discriminator.
            if (entity is not null && entity.Kind is not (NodeKind.Lambda or NodeKind.UnnamedType) && !Discriminator())
            {
                return null;
            }

            if (defaultArgument >= 0)
            {
                entity = new Node(NodeKind.DefaultArgument, entity) { Number = defaultArgument };
            }
        }

        // The enclosing function's return type would read as the local entity's.
        if (function.Kind == NodeKind.TypedName && function.Right?.Kind == NodeKind.FunctionType)
        {
            function.Right.Left = null;
        }

        return Node.Make(NodeKind.LocalName, function, entity);
    }

    /// <summary>_ &lt;digit&gt; or __ &lt;number&gt; _; parsed and dropped, as c++filt does.</summary>
    private bool Discriminator()
    {
        if (!Eat('_'))
        {
            return true;
        }

        bool doubleUnderscore = Eat('_');
        int value = Number();
        if (value < 0)
        {
            return false;
        }

        return !doubleUnderscore || value < 10 || Eat('_');
    }
}
