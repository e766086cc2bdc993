namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Closure types ({lambda(int)#1}), unnamed types and explicit lambda template parameters.</summary>
internal sealed partial class Parser
{
    /// <summary>Ul [&lt;template-head&gt;] &lt;parameter types&gt; E [&lt;number&gt;] _</summary>
    private Node? Lambda()
    {
        if (!Eat('U') || !Eat('l'))
        {
            return null;
        }

        bool bad = false;
        var head = TemplateHead(ref bad);
        if (bad)
        {
            return null;
        }

        var signature = ParameterList();
        if (signature is null)
        {
            return null;
        }

        if (head is not null)
        {
            head.Right = signature;
            signature = head;
        }

        if (!Eat('E'))
        {
            return null;
        }

        int number = CompactNumber();
        return number < 0 ? null : new Node(NodeKind.Lambda, signature) { Number = number };
    }

    private Node? UnnamedType()
    {
        if (!Eat('U') || !Eat('t'))
        {
            return null;
        }

        int number = CompactNumber();
        if (number < 0)
        {
            return null;
        }

        var result = new Node(NodeKind.UnnamedType) { Number = number };
        return AddSubstitution(result) ? result : null;
    }

    /// <summary>Ty, Tn &lt;type&gt;, Tt &lt;template-head&gt; E, Tp &lt;template-parm&gt;: explicit lambda template parameters.</summary>
    private Node? TemplateParm(ref bool bad)
    {
        if (Peek != 'T')
        {
            return null;
        }

        if (!Enter())
        {
            Leave();
            return null;
        }

        try
        {
            switch (PeekNext)
            {
                case 'p':
                    Advance(2);
                    var packed = TemplateParm(ref bad);
                    if (packed is null)
                    {
                        bad = true;
                        return null;
                    }

                    return new Node(NodeKind.TemplatePackParm, packed);
                case 'y':
                    Advance(2);
                    return new Node(NodeKind.TemplateTypeParm);
                case 'n':
                    Advance(2);
                    var type = Type();
                    if (type is null)
                    {
                        bad = true;
                        return null;
                    }

                    return new Node(NodeKind.TemplateNonTypeParm, type);
                case 't':
                    Advance(2);
                    var head = TemplateHead(ref bad);
                    if (head is null || !Eat('E'))
                    {
                        bad = true;
                        return null;
                    }

                    return new Node(NodeKind.TemplateTemplateParm, head);
                default:
                    return null;
            }
        }
        finally
        {
            Leave();
        }
    }

    private Node? TemplateHead(ref bool bad)
    {
        Node? first = null;
        Node? last = null;
        Node? parm;
        while ((parm = TemplateParm(ref bad)) is not null)
        {
            if (last is null)
            {
                first = parm;
            }
            else
            {
                last.Right = parm;
            }

            last = parm;
        }

        return first is null ? null : new Node(NodeKind.TemplateHead, first);
    }
}
