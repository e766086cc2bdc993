namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Encodings, names and nested-name prefixes.</summary>
internal sealed partial class Parser
{
    /// <summary>&lt;mangled-name&gt; ::= _Z &lt;encoding&gt; [&lt;clone-suffix&gt;]*</summary>
    private Node? MangledName(bool topLevel)
    {
        // Below the top level GCC sometimes omits the underscore, so tolerate that there.
        if (!Eat('_') && topLevel)
        {
            return null;
        }

        if (!Eat('Z'))
        {
            return null;
        }

        var result = Encoding(topLevel);
        if (topLevel)
        {
            while (result is not null && Peek == '.' && (IsLower(PeekNext) || PeekNext == '_' || IsDigit(PeekNext)))
            {
                result = CloneSuffix(result);
            }
        }

        return result;
    }

    private Node? Encoding(bool topLevel)
    {
        if (!Enter())
        {
            Leave();
            return null;
        }

        try
        {
            if (Peek is 'G' or 'T')
            {
                return SpecialName();
            }

            var name = Name(substitutable: false);
            if (name is null || Peek is '\0' or 'E')
            {
                return name;
            }

            var functionType = BareFunctionType(HasReturnType(name));
            if (functionType is null)
            {
                return null;
            }

            // A nested function's own return type would read as if it belonged to the enclosing entity.
            if (!topLevel && name.Kind == NodeKind.LocalName && functionType.Kind == NodeKind.FunctionType)
            {
                functionType.Left = null;
            }

            return Node.Make(NodeKind.TypedName, name, functionType);
        }
        finally
        {
            Leave();
        }
    }

    /// <summary>Template functions encode their return type; constructors, destructors and conversions never do.</summary>
    private static bool HasReturnType(Node? node) => node?.Kind switch
    {
        NodeKind.LocalName => HasReturnType(node.Right),
        NodeKind.Template => !IsConstructorDestructorOrConversion(node.Left),
        _ when node is not null && node.IsFunctionQualifier => HasReturnType(node.Left),
        _ => false,
    };

    private static bool IsConstructorDestructorOrConversion(Node? node) => node?.Kind switch
    {
        NodeKind.QualifiedName or NodeKind.LocalName => IsConstructorDestructorOrConversion(node.Right),
        NodeKind.Constructor or NodeKind.Destructor or NodeKind.Conversion => true,
        _ => false,
    };

    private Node? Name(bool substitutable)
    {
        Node? result = null;
        Node? module = null;
        bool isSubstitution = false;
        switch (Peek)
        {
            case 'N':
                result = NestedName();
                break;
            case 'Z':
                result = LocalName();
                break;
            case 'U':
                result = UnqualifiedName(null);
                break;
            default:
                if (Peek == 'S')
                {
                    if (PeekNext == 't')
                    {
                        Advance(2);
                        result = Node.Named("std");
                    }

                    if (Peek == 'S')
                    {
                        module = Substitution();
                        if (module is null)
                        {
                            return null;
                        }

                        if (!IsModule(module))
                        {
                            if (result is not null)
                            {
                                return null;
                            }

                            result = module;
                            module = null;
                            isSubstitution = true;
                        }
                    }
                }

                if (!isSubstitution)
                {
                    result = UnqualifiedName(result, module);
                }

                if (Peek == 'I')
                {
                    // An unscoped template name is a substitution candidate of its own.
                    if (!isSubstitution && !AddSubstitution(result))
                    {
                        return null;
                    }

                    result = Node.Make(NodeKind.Template, result, TemplateArgs());
                    isSubstitution = false;
                }

                break;
        }

        if (substitutable && !isSubstitution && !AddSubstitution(result))
        {
            return null;
        }

        return result;
    }

    private Node? NestedName()
    {
        if (!Eat('N'))
        {
            return null;
        }

        var qualifiers = CvQualifiers(memberFunction: true);
        if (qualifiers is null)
        {
            return null;
        }

        var refQualifier = RefQualifier(null);
        var prefix = Prefix(substitutable: true);
        if (prefix is null)
        {
            return null;
        }

        var result = qualifiers.Wrap(prefix);
        if (refQualifier is not null)
        {
            refQualifier.Left = result;
            result = refQualifier;
        }

        return Eat('E') ? result : null;
    }

    private Node? Prefix(bool substitutable)
    {
        Node? result = null;
        while (true)
        {
            char peek = Peek;
            if (peek == 'D' && PeekNext is 'T' or 't')
            {
                if (result is not null)
                {
                    return null;
                }

                result = Type();
            }
            else if (peek == 'I')
            {
                if (result is null)
                {
                    return null;
                }

                var args = TemplateArgs();
                if (args is null)
                {
                    return null;
                }

                result = Node.Make(NodeKind.Template, result, args);
            }
            else if (peek == 'T')
            {
                if (result is not null)
                {
                    return null;
                }

                result = TemplateParam();
            }
            else if (peek == 'M')
            {
                // Lambda initializer scope; the entity before it was already recorded.
                Advance(1);
                continue;
            }
            else if (peek == 'S')
            {
                var substitution = Substitution();
                if (substitution is null)
                {
                    return null;
                }

                if (IsModule(substitution))
                {
                    result = UnqualifiedName(result, substitution);
                }
                else
                {
                    if (result is not null)
                    {
                        return null;
                    }

                    result = substitution;
                    continue;
                }
            }
            else
            {
                result = UnqualifiedName(result);
            }

            if (result is null || Peek == 'E')
            {
                break;
            }

            if (substitutable && !AddSubstitution(result))
            {
                return null;
            }
        }

        return result;
    }
}
