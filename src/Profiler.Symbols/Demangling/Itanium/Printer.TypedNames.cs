namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Function names with their signature: the name is printed from inside the function type.</summary>
internal sealed partial class Printer
{
    private void PrintTypedName(Node node)
    {
        // The name and any "this" qualifiers become modifiers so the function type can place them.
        var savedModifiers = _modifiers;
        _modifiers = null;
        var pushed = new List<Modifier>();
        var typedName = node.Left;
        while (typedName is not null)
        {
            if (pushed.Count >= 4)
            {
                Fail();
                return;
            }

            _modifiers = new Modifier(typedName, _modifiers, _templates);
            pushed.Add(_modifiers);
            if (!typedName.IsFunctionQualifier)
            {
                break;
            }

            typedName = typedName.Left;
        }

        if (typedName is null)
        {
            Fail();
            return;
        }

        // In a member function of a local class the qualifiers sit on the local name's right side.
        if (typedName.Kind == NodeKind.LocalName)
        {
            typedName = typedName.Right;
            if (typedName?.Kind == NodeKind.DefaultArgument)
            {
                typedName = typedName.Left;
            }

            while (typedName is not null && typedName.IsFunctionQualifier)
            {
                if (pushed.Count >= 4)
                {
                    Fail();
                    return;
                }

                // Slot the qualifier in just below the current top of the modifier stack.
                var top = pushed[^1];
                var moved = top.Copy();
                moved.Next = top;
                top.Node = typedName;
                top.Printed = false;
                top.Templates = _templates;
                pushed.Add(moved);
                _modifiers = moved;
                typedName = typedName.Left;
            }

            if (typedName is null)
            {
                Fail();
                return;
            }
        }

        bool isTemplate = typedName.Kind == NodeKind.Template;
        if (isTemplate)
        {
            _templates = new TemplateScope(typedName, _templates);
        }

        PrintNode(node.Right);
        if (isTemplate)
        {
            _templates = _templates!.Next;
        }

        for (int i = pushed.Count - 1; i >= 0; i--)
        {
            if (!pushed[i].Printed)
            {
                Append(' ');
                PrintModifier(pushed[i].Node);
            }
        }

        _modifiers = savedModifiers;
    }

    /// <summary>A local name on the modifier stack: its "this" qualifiers were already pulled off the right side.</summary>
    private void PrintLocalNameModifier(Node localName)
    {
        var savedModifiers = _modifiers;
        _modifiers = null;
        PrintNode(localName.Left);
        _modifiers = savedModifiers;
        Append("::");
        var entity = localName.Right;
        if (entity?.Kind == NodeKind.DefaultArgument)
        {
            Append("{default arg#");
            AppendNumber(entity.Number + 1);
            Append("}::");
            entity = entity.Left;
        }

        while (entity is not null && entity.IsFunctionQualifier)
        {
            entity = entity.Left;
        }

        PrintNode(entity);
    }
}
