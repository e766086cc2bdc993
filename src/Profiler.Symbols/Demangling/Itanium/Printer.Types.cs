namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>
/// Types. C declarator syntax puts parts of a type on both sides of the name ("int (*f)(char)"),
/// so pointers, qualifiers, function and array types are pushed as <see cref="Modifier"/>s and the
/// innermost type decides where each one goes.
/// </summary>
internal sealed partial class Printer
{
    private bool TryPrintType(Node node)
    {
        switch (node.Kind)
        {
            case NodeKind.Restrict or NodeKind.Volatile or NodeKind.Const:
                PrintCvQualifiedType(node);
                return true;
            case NodeKind.Reference or NodeKind.RvalueReference:
                PrintReference(node);
                return true;
            case NodeKind.VendorTypeQualifier or NodeKind.Pointer or NodeKind.Complex or NodeKind.Imaginary:
                PrintWithModifier(node, node.Left);
                return true;
            case var _ when node.IsFunctionQualifier:
                PrintWithModifier(node, node.Left);
                return true;
            case NodeKind.FunctionType:
                PrintFunctionTypeNode(node);
                return true;
            case NodeKind.ArrayType:
                PrintArrayTypeNode(node);
                return true;
            case NodeKind.PointerToMemberType or NodeKind.VectorType:
                PrintWithModifier(node, node.Right);
                return true;
            default:
                return false;
        }
    }

    private void PrintCvQualifiedType(Node node)
    {
        // Array element qualifiers can be pushed more than once; print each only once.
        for (var modifier = _modifiers; modifier is not null; modifier = modifier.Next)
        {
            if (modifier.Printed)
            {
                continue;
            }

            if (!modifier.Node.IsCvQualifier)
            {
                break;
            }

            if (modifier.Node.Kind == node.Kind)
            {
                PrintNode(node.Left);
                return;
            }
        }

        PrintWithModifier(node, node.Left);
    }

    /// <summary>References to references collapse (T&amp; &amp;&amp; is T&amp;), which needs the template argument behind T.</summary>
    private void PrintReference(Node node)
    {
        var inner = node.Left;
        Node? modifierTarget = null;
        TemplateScope? savedTemplates = null;
        bool restoreTemplates = false;
        if (_lambdaTemplateParms == 0 && inner?.Kind == NodeKind.TemplateParam)
        {
            if (!_savedScopes.TryGetValue(inner, out var scope))
            {
                // First visit: remember the scope in case a substitution re-enters this node elsewhere.
                _savedScopes[inner] = _templates;
            }
            else if (!IsBeneath(inner, node))
            {
                savedTemplates = _templates;
                _templates = scope;
                restoreTemplates = true;
            }

            var argument = LookupTemplateArgument(inner);
            if (argument?.Kind == NodeKind.TemplateArgumentList)
            {
                argument = IndexTemplateArgument(argument, _packIndex);
            }

            if (argument is null)
            {
                if (restoreTemplates)
                {
                    _templates = savedTemplates;
                }

                Fail();
                return;
            }

            inner = argument;
        }

        var effective = node;
        if (inner is not null && (inner.Kind == NodeKind.Reference || inner.Kind == node.Kind))
        {
            effective = inner;
        }
        else if (inner?.Kind == NodeKind.RvalueReference)
        {
            modifierTarget = inner.Left;
        }

        PrintWithModifier(effective, modifierTarget ?? effective.Left);
        if (restoreTemplates)
        {
            _templates = savedTemplates;
        }
    }

    /// <summary>Whether <paramref name="target"/> or <paramref name="self"/> (other than at the top) is being printed already.</summary>
    private bool IsBeneath(Node target, Node self)
    {
        for (int i = _nodeStack.Count - 1; i >= 0; i--)
        {
            if (_nodeStack[i] == target || (_nodeStack[i] == self && i != _nodeStack.Count - 1))
            {
                return true;
            }
        }

        return false;
    }

    private void PrintWithModifier(Node modifierNode, Node? inner)
    {
        var modifier = new Modifier(modifierNode, _modifiers, _templates);
        _modifiers = modifier;
        PrintNode(inner);
        if (!modifier.Printed)
        {
            PrintModifier(modifierNode);
        }

        _modifiers = modifier.Next;
    }

    private void PrintFunctionTypeNode(Node node)
    {
        if (node.Left is not null)
        {
            // The return type comes first but the rest of the signature may need to go inside it.
            var modifier = new Modifier(node, _modifiers, _templates);
            _modifiers = modifier;
            PrintNode(node.Left);
            _modifiers = modifier.Next;
            if (modifier.Printed)
            {
                return;
            }

            Append(' ');
        }

        PrintFunctionSignature(node, _modifiers);
    }

    private void PrintArrayTypeNode(Node node)
    {
        // A qualified array is printed as an array of qualified elements, so pending
        // cv-qualifiers move down to the element type.
        var savedModifiers = _modifiers;
        var arrayModifier = new Modifier(node, savedModifiers, _templates);
        _modifiers = arrayModifier;
        var moved = new List<Modifier>();
        for (var pending = savedModifiers; pending is not null && pending.Node.IsCvQualifier; pending = pending.Next)
        {
            if (pending.Printed)
            {
                continue;
            }

            if (moved.Count >= 3)
            {
                Fail();
                return;
            }

            var copy = pending.Copy();
            copy.Next = _modifiers;
            _modifiers = copy;
            pending.Printed = true;
            moved.Add(copy);
        }

        PrintNode(node.Right);
        _modifiers = savedModifiers;
        if (arrayModifier.Printed)
        {
            return;
        }

        for (int i = moved.Count - 1; i >= 0; i--)
        {
            PrintModifier(moved[i].Node);
        }

        PrintArrayDimension(node, _modifiers);
    }
}
