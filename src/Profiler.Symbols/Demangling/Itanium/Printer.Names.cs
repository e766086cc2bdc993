namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Names: template instantiations, lambdas, scopes and lists.</summary>
internal sealed partial class Printer
{
    private void PrintStructuredBinding(Node node)
    {
        Append('[');
        for (Node? current = node; current is not null; current = current.Right)
        {
            if (current != node)
            {
                Append(", ");
            }

            PrintNode(current.Left);
        }

        Append(']');
    }

    /// <summary>The right side of a qualified or local name, which may be a default-argument scope.</summary>
    private void PrintScopedEntity(Node? entity)
    {
        if (entity?.Kind == NodeKind.DefaultArgument)
        {
            Append("{default arg#");
            AppendNumber(entity.Number + 1);
            Append("}::");
            entity = entity.Left;
        }

        PrintNode(entity);
    }

    private void PrintList(Node node)
    {
        if (node.Left is not null)
        {
            PrintNode(node.Left);
        }

        if (node.Right is null)
        {
            return;
        }

        Append(", ");
        int lengthBefore = _output.Length;
        PrintNode(node.Right);

        // An empty argument pack prints nothing; drop its separator.
        if (_output.Length == lengthBefore)
        {
            _output.Length -= 2;
        }
    }

    private void PrintTemplate(Node node)
    {
        // Modifiers belong outside the template: pushing them into its arguments would misplace them.
        var savedCurrent = _currentTemplate;
        var savedModifiers = _modifiers;
        _currentTemplate = node;
        _modifiers = null;

        PrintNode(node.Left);
        if (_lastChar == '<')
        {
            Append(' ');
        }

        Append('<');
        PrintNode(node.Right);
        if (_lastChar == '>')
        {
            Append(' ');
        }

        Append('>');
        _modifiers = savedModifiers;
        _currentTemplate = savedCurrent;
    }

    private void PrintLambda(Node node)
    {
        Append("{lambda");
        var parameters = node.Left;
        int savedTemplateParms = _lambdaTemplateParms;
        _lambdaTemplateParms = 0;

        // Explicit lambda template parameters act like template arguments for what follows.
        bool hasTemplateHead = parameters?.Kind == NodeKind.TemplateHead;
        var scope = new TemplateScope(hasTemplateHead ? parameters : null, _templates);
        _templates = scope;
        if (hasTemplateHead)
        {
            Append('<');
            for (var parm = parameters!.Left; parm is not null; parm = parm.Right)
            {
                if (_lambdaTemplateParms++ > 0)
                {
                    Append(", ");
                }

                PrintNode(parm);
                Append(' ');
                var named = parm.Kind == NodeKind.TemplatePackParm ? parm.Left : parm;
                AppendLambdaParmName(named?.Kind, _lambdaTemplateParms - 1);
            }

            Append('>');
            parameters = parameters!.Right;
        }

        _lambdaTemplateParms++;
        Append('(');
        PrintNode(parameters);
        _lambdaTemplateParms = savedTemplateParms;
        _templates = scope.Next;
        Append(")#");
        AppendNumber(node.Number + 1);
        Append('}');
    }

    private void AppendLambdaParmName(NodeKind? kind, int index)
    {
        string? prefix = kind switch
        {
            NodeKind.TemplateTypeParm => "$T",
            NodeKind.TemplateNonTypeParm => "$N",
            NodeKind.TemplateTemplateParm => "$TT",
            _ => null,
        };
        if (prefix is null)
        {
            Fail();
            prefix = "";
        }

        Append(prefix);
        AppendNumber(index);
    }

    private bool TryPrintTemplateParm(Node node)
    {
        switch (node.Kind)
        {
            case NodeKind.TemplateHead:
                Append('<');
                for (var parm = node.Left; parm is not null; parm = parm.Right)
                {
                    if (parm != node.Left)
                    {
                        Append(", ");
                    }

                    PrintNode(parm);
                }

                Append('>');
                return true;
            case NodeKind.TemplateTypeParm:
                Append("typename");
                return true;
            case NodeKind.TemplateNonTypeParm:
                PrintNode(node.Left);
                return true;
            case NodeKind.TemplateTemplateParm:
                Append("template");
                PrintNode(node.Left);
                Append(" class");
                return true;
            case NodeKind.TemplatePackParm:
                PrintNode(node.Left);
                Append("...");
                return true;
            default:
                return false;
        }
    }
}
