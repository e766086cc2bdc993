namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Template parameters print as the argument they were instantiated with, as c++filt does.</summary>
internal sealed partial class Printer
{
    private void PrintTemplateParam(Node node)
    {
        if (_lambdaTemplateParms > node.Number + 1)
        {
            // An explicit template parameter of the lambda being printed: name it like g++ does.
            var parm = _templates?.Declaration?.Left;
            for (int remaining = node.Number; parm is not null && remaining > 0; remaining--)
            {
                parm = parm.Right;
            }

            if (parm?.Kind == NodeKind.TemplatePackParm)
            {
                parm = parm.Left;
            }

            if (parm is null)
            {
                Fail();
                return;
            }

            AppendLambdaParmName(parm.Kind, node.Number);
            return;
        }

        if (_lambdaTemplateParms > 0)
        {
            // A generic lambda's implicit "auto" parameter.
            Append("auto:");
            AppendNumber(node.Number + 1);
            return;
        }

        var argument = LookupTemplateArgument(node);
        if (argument?.Kind == NodeKind.TemplateArgumentList)
        {
            argument = IndexTemplateArgument(argument, _packIndex);
        }

        if (argument is null)
        {
            Fail();
            return;
        }

        // The argument may itself mention parameters of an outer template.
        var savedTemplates = _templates;
        _templates = savedTemplates!.Next;
        PrintNode(argument);
        _templates = savedTemplates;
    }

    private Node? LookupTemplateArgument(Node param)
    {
        if (_templates is null)
        {
            Fail();
            return null;
        }

        return IndexTemplateArgument(_templates.Declaration?.Right, param.Number);
    }

    /// <summary>The index-th element of a template argument list, or the whole list for a negative index.</summary>
    private static Node? IndexTemplateArgument(Node? arguments, int index)
    {
        if (index < 0)
        {
            return arguments;
        }

        var current = arguments;
        for (; current is not null; current = current.Right)
        {
            if (current.Kind != NodeKind.TemplateArgumentList)
            {
                return null;
            }

            if (index <= 0)
            {
                break;
            }

            index--;
        }

        return index != 0 || current is null ? null : current.Left;
    }

    /// <summary>Some template argument pack used within <paramref name="node"/>, or null.</summary>
    private Node? FindPack(Node? node)
    {
        // Shared subtrees make a naive walk exponential on hostile input, so cap the work.
        int budget = 10_000;
        return FindPack(node, ref budget, depth: 0);
    }

    private Node? FindPack(Node? node, ref int budget, int depth)
    {
        if (node is null || --budget < 0 || depth > MaxRecursion)
        {
            return null;
        }

        switch (node.Kind)
        {
            case NodeKind.TemplateParam:
                var argument = LookupTemplateArgument(node);
                return argument?.Kind == NodeKind.TemplateArgumentList ? argument : null;
            case NodeKind.PackExpansion or NodeKind.Lambda or NodeKind.Name or NodeKind.TaggedName
                or NodeKind.Operator or NodeKind.BuiltinType or NodeKind.ExtendedBuiltinType
                or NodeKind.StandardSubstitution or NodeKind.FunctionParam or NodeKind.UnnamedType
                or NodeKind.DefaultArgument or NodeKind.Number:
                return null;
            case NodeKind.ExtendedOperator or NodeKind.Constructor or NodeKind.Destructor:
                return FindPack(node.Left, ref budget, depth + 1);
            default:
                return FindPack(node.Left, ref budget, depth + 1) ?? FindPack(node.Right, ref budget, depth + 1);
        }
    }

    private static int PackLength(Node? pack)
    {
        int count = 0;
        for (var current = pack; current is { Kind: NodeKind.TemplateArgumentList, Left: not null }; current = current.Right)
        {
            count++;
        }

        return count;
    }

    /// <summary>The number of template arguments, counting each expanded pack element.</summary>
    private int ArgumentsLength(Node? arguments)
    {
        int count = 0;
        for (var current = arguments; current is { Kind: NodeKind.TemplateArgumentList }; current = current.Right)
        {
            var element = current.Left;
            if (element is null)
            {
                break;
            }

            count += element.Kind == NodeKind.PackExpansion ? PackLength(FindPack(element.Left)) : 1;
        }

        return count;
    }

    private void PrintPackExpansion(Node node)
    {
        var pack = _lambdaTemplateParms == 0 ? FindPack(node.Left) : null;
        if (pack is null)
        {
            // Only function parameter packs are involved: show the pattern with "...".
            PrintSubexpression(node.Left);
            Append("...");
            return;
        }

        int length = PackLength(pack);
        for (int i = 0; i < length; i++)
        {
            if (i > 0)
            {
                Append(", ");
            }

            _packIndex = i;
            PrintNode(node.Left);
        }
    }

    /// <summary>A conversion operator's type may use the enclosing template's parameters.</summary>
    private void PrintConversion(Node node)
    {
        var enclosing = _currentTemplate;
        if (enclosing is not null)
        {
            _templates = new TemplateScope(enclosing, _templates);
        }

        PrintNode(node.Left);
        if (enclosing is not null)
        {
            _templates = _templates!.Next;
        }
    }
}
