namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Template parameters and template argument lists.</summary>
internal sealed partial class Parser
{
    private Node? TemplateParamType()
    {
        var param = TemplateParam();
        if (Peek != 'I')
        {
            return param;
        }

        // A template template parameter with arguments, except that inside a conversion operator's
        // type the arguments may instead belong to the enclosing prefix: only take them if another
        // argument list follows.
        if (!_inConversion)
        {
            return AddSubstitution(param) ? Node.Make(NodeKind.Template, param, TemplateArgs()) : null;
        }

        var checkpoint = Checkpoint();
        var args = TemplateArgs();
        if (Peek == 'I')
        {
            return AddSubstitution(param) ? Node.Make(NodeKind.Template, param, args) : null;
        }

        Backtrack(checkpoint);
        return param;
    }

    private Node? TemplateParam()
    {
        if (!Eat('T'))
        {
            return null;
        }

        int index = CompactNumber();
        return index < 0 ? null : new Node(NodeKind.TemplateParam) { Number = index };
    }

    private Node? TemplateArgs()
    {
        if (Peek is not ('I' or 'J'))
        {
            return null;
        }

        Advance(1);
        return TemplateArgsBody();
    }

    /// <summary>&lt;template-arg&gt;* E, with the leading I or J already consumed.</summary>
    private Node? TemplateArgsBody()
    {
        // Argument packs nest directly (I J J ... E E E) without passing through Type().
        if (!Enter())
        {
            Leave();
            return null;
        }

        try
        {
            return TemplateArgsList();
        }
        finally
        {
            Leave();
        }
    }

    private Node? TemplateArgsList()
    {
        // Template arguments must not change which name a later constructor refers to.
        var savedLastName = _lastName;
        if (Eat('E'))
        {
            return new Node(NodeKind.TemplateArgumentList);
        }

        Node? head = null;
        Node? tail = null;
        do
        {
            var argument = TemplateArg();
            if (argument is null)
            {
                return null;
            }

            var link = new Node(NodeKind.TemplateArgumentList, argument);
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
        while (!Eat('E'));

        _lastName = savedLastName;
        return head;
    }

    private Node? TemplateArg()
    {
        switch (Peek)
        {
            case 'X':
                Advance(1);
                var expression = Expression();
                return Eat('E') ? expression : null;
            case 'L':
                return ExprPrimary();
            case 'I' or 'J':
                return TemplateArgs();
            default:
                return Type();
        }
    }
}
